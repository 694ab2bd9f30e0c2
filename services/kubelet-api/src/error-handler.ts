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
  app.setNotFoundHandler((req, reply) => void reply.code(404).type('text/plain').send(`404 page not found: ${req.method} ${req.url.split('?')[0]}\n`));
}
