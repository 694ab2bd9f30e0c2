export * from './provider-registry.ts';
export * from './instrumented-provider.ts';
