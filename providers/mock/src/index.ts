export * from './mock-backend.ts';
export * from './mock-backend-server.ts';
export * from './mock-provider.ts';
