export * from './provider-registry.ts';
