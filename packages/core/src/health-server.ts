import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/** Named readiness checks; a service is ready when every check returns true. */
export type ReadinessChecks = Record<string, () => boolean>;

export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  registry: Registry;
  readiness: ReadinessChecks;
  logger: Logger;
}

/**
 * The operational HTTP surface every service has (DESIGN invariant 6):
 * `/healthz` (the process runs), `/readyz` (every readiness check passes; the
 * body lists the failing ones), `/metrics` (Prometheus text format).
 * kubelet-api serves the same three routes from its Fastify app instead.
 */
export class HealthServer {
  readonly #options: HealthServerOptions;
  #server: Server | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: HealthServerOptions) {
    this.#options = options;
  }

  async start(): Promise<AddressInfo> {
    const { host, port, registry, readiness, logger } = this.#options;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
        return;
      }
      if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const failing = Object.entries(readiness).filter(([, check]) => !check()).map(([name]) => name);
        if (failing.length === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${failing.join(', ')}\n`);
      } else if (path === '/metrics') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) => {
            logger.error({ err }, 'cannot render metrics');
            res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot render metrics\n');
          },
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    logger.info({ address: address.address, port: address.port }, 'health server listening');
    return address;
  }

  /** Idempotent; never throws. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const server = this.#server;
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.#closing;
  }
}
