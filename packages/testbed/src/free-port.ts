import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1. Another process may take it
 * before we use it, so callers that start servers retry on "port in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
