import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { KubeRestClient, Logger, Provider } from '@vk-ts/core';
import { installErrorHandler } from './error-handler.ts';
import { containerLogsRoute } from './routes/container-logs.ts';

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  /** Without a client and provider only the health routes exist (tests of the skeleton). */
  client?: KubeRestClient;
  provider?: Provider;
  nodeName?: string;
  /** TLS material for HTTPS; plain HTTP without it. */
  https?: { cert: Buffer; key: Buffer };
}

/**
 * The kubelet-api Fastify app, built apart from listen() so tests use inject().
 * Authentication and authorization (TokenReview/SubjectAccessReview) are not
 * built yet: see the kubelet-api issue.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    ...(deps.https ? { https: { ...deps.https, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;
  installErrorHandler(app);
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/readyz', async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/metrics', async (_req, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
  if (deps.client && deps.provider && deps.nodeName) {
    containerLogsRoute(app, { client: deps.client, provider: deps.provider, nodeName: deps.nodeName });
  }
  return app;
}
