import { Counter, Histogram, type Registry } from 'prom-client';
import { ErrorCodes, type ProviderPod, type Provider } from '@vk-ts/core';

const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** The provider call metrics, one set per registry (a node-agent with several nodes has a provider per node). */
class ProviderMetrics {
  static readonly #byRegistry = new WeakMap<Registry, ProviderMetrics>();

  readonly #durations: Histogram<'method' | 'result'>;
  readonly #errors: Counter<'method' | 'code'>;

  private constructor(registry: Registry) {
    this.#durations = new Histogram({
      name: 'vk_provider_request_duration_seconds', help: 'Time provider calls took, by method and result (ok, error); a log stream until it is handed back',
      labelNames: ['method', 'result'], buckets: DURATION_BUCKETS_S, registers: [registry],
    });
    this.#errors = new Counter({
      name: 'vk_provider_errors_total', help: 'Provider calls that failed, by method and error code (a VK_ERR_* code, or unknown)',
      labelNames: ['method', 'code'], registers: [registry],
    });
  }

  static for(registry: Registry): ProviderMetrics {
    let metrics = ProviderMetrics.#byRegistry.get(registry);
    if (!metrics) {
      metrics = new ProviderMetrics(registry);
      ProviderMetrics.#byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  ok(method: string, startedAt: number): void {
    this.#durations.observe({ method, result: 'ok' }, (performance.now() - startedAt) / 1000);
  }

  failed(method: string, startedAt: number, err: unknown): void {
    this.#durations.observe({ method, result: 'error' }, (performance.now() - startedAt) / 1000);
    const code = (err as { code?: unknown } | null)?.code;
    this.#errors.inc({ method, code: typeof code === 'string' && KNOWN_CODES.has(code) ? code : 'unknown' });
  }

  /** `fn` bound to `target`, its calls timed under `method`. */
  timed<A extends unknown[], R>(method: string, target: object, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A): Promise<R> => {
      const startedAt = performance.now();
      try {
        const result = await fn.apply(target, args);
        this.ok(method, startedAt);
        return result;
      } catch (err) {
        this.failed(method, startedAt, err);
        throw err;
      }
    };
  }
}

/**
 * `provider` with every call to its backend measured in `registry`:
 * `vk_provider_request_duration_seconds{method,result}` and
 * `vk_provider_errors_total{method,code}`. A log stream counts until it is
 * handed back, not for its life; a page of `listPodPages` counts as one call.
 * Optional methods stay absent when the provider lacks them (callers answer
 * 501 on that). describeNode (no backend call) and close are passed through.
 */
export function instrumentedProvider(provider: Provider, registry: Registry): Provider {
  const metrics = ProviderMetrics.for(registry);
  const wrapped: Provider = {
    get name() { return provider.name; },
    describeNode: () => provider.describeNode(),
    close: () => provider.close(),
    ping: metrics.timed('ping', provider, provider.ping),
    createPod: metrics.timed('createPod', provider, provider.createPod),
    updatePod: metrics.timed('updatePod', provider, provider.updatePod),
    deletePod: metrics.timed('deletePod', provider, provider.deletePod),
    getPod: metrics.timed('getPod', provider, provider.getPod),
    listPods: metrics.timed('listPods', provider, provider.listPods),
  };
  if (provider.listPodPages) {
    const listPodPages = provider.listPodPages.bind(provider);
    wrapped.listPodPages = () => timedPages(metrics, listPodPages());
  }
  if (provider.getContainerLogs) wrapped.getContainerLogs = metrics.timed('getContainerLogs', provider, provider.getContainerLogs);
  if (provider.getStatsSummary) wrapped.getStatsSummary = metrics.timed('getStatsSummary', provider, provider.getStatsSummary);
  return wrapped;
}

/** Each page fetched is one `listPodPages` call; a walk given up early ends the provider's too. */
async function* timedPages(metrics: ProviderMetrics, pages: AsyncIterable<ProviderPod[]>): AsyncGenerator<ProviderPod[]> {
  const it = pages[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const startedAt = performance.now();
      let next: IteratorResult<ProviderPod[]>;
      try {
        next = await it.next();
      } catch (err) {
        done = true;
        metrics.failed('listPodPages', startedAt, err);
        throw err;
      }
      if (next.done) {
        done = true;
        return;
      }
      metrics.ok('listPodPages', startedAt);
      yield next.value;
    }
  } finally {
    if (!done) await it.return?.();
  }
}
