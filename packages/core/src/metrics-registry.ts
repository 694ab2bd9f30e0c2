import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A Prometheus registry per service (never the global one, so tests can build
 * several services in one process). Labels never carry secrets.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'vk_' });
  return registry;
}
