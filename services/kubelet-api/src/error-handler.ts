import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCodes } from '@vk-ts/core';

/** Our error codes → HTTP status, in one place (the kubelet answers with plain text). */
const STATUS: Record<string, number> = {
  [ErrorCodes.REQUEST_INVALID]: 400,
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.AUTHORIZATION_UNAVAILABLE]: 500,
  [ErrorCodes.PROVIDER_NOT_FOUND]: 404,
  [ErrorCodes.PROVIDER_NOT_IMPLEMENTED]: 501,
  [ErrorCodes.PROVIDER_TRANSIENT]: 503,
};

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & { code?: string }, req, reply) => {
    const mapped = STATUS[err.code ?? ''];
    const status = err.validation ? 400 : mapped ?? (err.statusCode && err.statusCode < 500 ? err.statusCode : 500);
    if (status >= 500) req.log.error({ err }, 'request failed');
    // Only our own catalogued errors say why; anything unexpected stays opaque.
    const message = status === 500 && mapped === undefined ? 'internal error' : err.message;
    void reply.code(status).type('text/plain').send(`${message}\n`);
  });
  // A known path asked with another method is a 405 naming the methods it takes, as the kubelet's router answers
  // (go-restful); only a path no route has is a 404. The routes are collected as they are added.
  const routes: { methods: string[]; path: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ methods: [route.method].flat(), path: routePattern(route.url ?? route.path) });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.path.test(path)).flatMap((r) => r.methods))];
    if (allowed.length > 0) {
      void reply.code(405).header('allow', allowed.join(', ')).type('text/plain').send(`405: Method Not Allowed: ${req.method} ${path} (allowed: ${allowed.join(', ')})\n`);
      return;
    }
    void reply.code(404).type('text/plain').send(`404 page not found: ${req.method} ${path}\n`);
  });
}

/** A Fastify route path (`/containerLogs/:namespace/:pod/:container`, `/x/*`) as a regular expression over request paths. */
export function routePattern(url: string): RegExp {
  const source = url.split('/').map((part) => {
    if (part === '*') return '.*';
    if (part.startsWith(':')) return '[^/]+';
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('/');
  return new RegExp(`^${source}$`);
}
