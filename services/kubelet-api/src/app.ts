import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
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
  installRequestMetrics(app, deps.registry);
  if (!('insecureNoAuth' in deps.auth)) {
    const authFailures = new Counter({
      name: 'vk_kubelet_api_auth_failures_total', help: 'Requests to the kubelet port refused by authentication or authorization, by reason',
      labelNames: ['reason'], registers: [deps.registry],
    });
    installAuthHook(app, {
      authenticator: deps.auth.authenticator, authorizer: deps.auth.authorizer, nodeName: deps.nodeName ?? '',
      onFailure: (reason) => authFailures.inc({ reason }),
    });
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

/** Label of requests that matched no route: one value, whatever the path. */
const UNMATCHED_ROUTE = 'unmatched';

/**
 * `vk_kubelet_api_requests_total{route,code}`: every answer, by route pattern
 * (`/containerLogs/:namespace/:pod/:container`, never a pod's name) and HTTP
 * code. Counted when the answer starts, so a log stream the client closes
 * (`kubectl logs -f` ended with Ctrl-C) counts too.
 */
function installRequestMetrics(app: FastifyInstance, registry: Registry): void {
  const requests = new Counter({
    name: 'vk_kubelet_api_requests_total', help: 'Requests to the kubelet port by route pattern and HTTP code',
    labelNames: ['route', 'code'], registers: [registry],
  });
  app.addHook('onSend', async (req, reply, payload) => {
    requests.inc({ route: req.is404 ? UNMATCHED_ROUTE : req.routeOptions.url ?? UNMATCHED_ROUTE, code: String(reply.statusCode) });
    return payload;
  });
}
