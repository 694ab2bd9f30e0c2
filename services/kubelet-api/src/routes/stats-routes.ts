import type { FastifyInstance } from 'fastify';
import { abortOnClose } from './abort-on-close.ts';
import { ErrorCodes, VkError, type Logger, type Provider, type StatsSummary } from '@vk-ts/core';
import { resourceMetricsText } from './resource-metrics-text.ts';


/**
 * /stats/summary (the kubelet's stats/v1alpha1 Summary, JSON) and GET
 * /metrics/resource (the same figures in the kubelet's Prometheus format),
 * both from the provider's getStatsSummary(). A provider without stats
 * answers 501; a failing one gives scrape_error 1 on /metrics/resource, as
 * the kubelet does, and its error on /stats/summary.
 */
export function statsRoutes(app: FastifyInstance, deps: { provider: Provider; logger: Logger }): void {
  const summary = async (signal: AbortSignal): Promise<StatsSummary> => {
    if (!deps.provider.getStatsSummary) {
      throw new VkError(ErrorCodes.PROVIDER_NOT_IMPLEMENTED, `provider ${deps.provider.name} does not serve stats`);
    }
    return deps.provider.getStatsSummary(signal);
  };

  // GET and POST, as the kubelet serves it; only_cpu_and_memory is on for exactly "true", as there.
  app.route<{ Querystring: { only_cpu_and_memory?: string } }>({
    method: ['GET', 'POST'], url: '/stats/summary',
    schema: { querystring: { type: 'object', properties: { only_cpu_and_memory: { type: 'string', maxLength: 16 } } } },
    handler: async (req, reply) => {
      const s = await summary(abortOnClose(reply.raw));
      const onlyCpuAndMemory = req.query.only_cpu_and_memory === 'true';
      const body = onlyCpuAndMemory ? cpuAndMemoryOnly(s) : s;
      return reply.type('application/json').send(body);
    },
  });

  app.get('/metrics/resource', async (req, reply) => {
    let s: StatsSummary | undefined;
    try {
      s = await summary(abortOnClose(reply.raw));
    } catch (err) {
      if ((err as VkError).code === ErrorCodes.PROVIDER_NOT_IMPLEMENTED) throw err;
      req.log.warn({ err }, 'cannot get stats from the provider: scrape_error 1');
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(resourceMetricsText(s));
  });

  // The kubelet's other metrics endpoints, which Prometheus set-ups that scrape kubelets (kube-prometheus's
  // kubelet ServiceMonitor) ask for too: answered with no samples, since no cAdvisor or prober runs behind a
  // virtual node, instead of a 404 that marks the target down.
  for (const [path, what] of [['/metrics/cadvisor', 'cAdvisor'], ['/metrics/probes', 'container probes']] as const) {
    app.get(path, async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8')
      .send(`# A virtual node runs no ${what}: this endpoint has no samples. Pod and container usage: /metrics/resource.\n`));
  }
}


function cpuAndMemoryOnly(s: StatsSummary): StatsSummary {
  return {
    node: { nodeName: s.node.nodeName, startTime: s.node.startTime, ...pick(s.node) },
    pods: s.pods.map((p) => ({
      podRef: p.podRef, startTime: p.startTime, ...pick(p),
      containers: p.containers.map((c) => ({ name: c.name, startTime: c.startTime, ...pick(c) })),
    })),
  };
}

function pick<T extends { cpu?: unknown; memory?: unknown }>(x: T): Pick<T, 'cpu' | 'memory'> {
  return { ...(x.cpu ? { cpu: x.cpu } : {}), ...(x.memory ? { memory: x.memory } : {}) } as Pick<T, 'cpu' | 'memory'>;
}
