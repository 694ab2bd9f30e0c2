export * from './free-port.ts';
export * from './child-process.ts';
export * from './paths.ts';
export * from './control-plane.ts';
export * from './redis-server.ts';
export * from './service-process.ts';
export * from './poll.ts';
export * from './loopback-alias.ts';
