import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { KubeRestClient, Logger, Provider } from '@vk-ts/core';
import { installAuthHook, type NodeAuthorizer } from './auth/auth-hook.ts';
import type { RequestAuthenticator } from './auth/request-authenticator.ts';
import { installErrorHandler } from './error-handler.ts';
import { containerLogsRoute } from './routes/container-logs.ts';
import { podsRoutes } from './routes/pods-routes.ts';
import { statsRoutes } from './routes/stats-routes.ts';
import { streamingRoutes } from './routes/streaming-routes.ts';
import { secureContextOptions, type ServingMaterial } from './tls/serving-material.ts';

/** How callers are checked: the kubelet's model, or (local experiments only) not at all. */
export type AppAuth =
  | { authenticator: RequestAuthenticator; authorizer: NodeAuthorizer }
  | { insecureNoAuth: true };

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  auth: AppAuth;
  /** Without a client and provider only /healthz, /readyz and /metrics exist (tests of the skeleton). */
  client?: KubeRestClient;
  provider?: Provider;
  nodeName?: string;
  /** TLS for HTTPS (plain HTTP without it: inject() tests); client certificates are verified against clientCa. */
  https?: { material: ServingMaterial; clientCa?: string };
}

/** Kubernetes object names are at most 253 characters; find-my-way's default limit (100) would turn long ones into 414s. */
const MAX_PARAM_LENGTH = 253;

/**
 * The kubelet-api Fastify app, built apart from listen() so tests use
 * inject(). Every route sits behind the kubelet's authentication and
 * authorization (auth/auth-hook.ts) unless auth is insecureNoAuth.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const https = deps.https
    ? { https: { ...secureContextOptions(deps.https.material, deps.https.clientCa), requestCert: true, rejectUnauthorized: false } }
    : {};
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ...https,
  }) as unknown as FastifyInstance;
  installErrorHandler(app);
  if (!('insecureNoAuth' in deps.auth)) {
    installAuthHook(app, { authenticator: deps.auth.authenticator, authorizer: deps.auth.authorizer, nodeName: deps.nodeName ?? '' });
  }
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/readyz', async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/metrics', async (_req, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
  if (deps.client && deps.provider && deps.nodeName) {
    const routeDeps = { client: deps.client, provider: deps.provider, nodeName: deps.nodeName, logger: deps.logger };
    containerLogsRoute(app, routeDeps);
    statsRoutes(app, routeDeps);
    podsRoutes(app, routeDeps);
    streamingRoutes(app);
  }
  return app;
}
