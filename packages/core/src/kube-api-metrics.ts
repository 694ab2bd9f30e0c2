import { Counter, Histogram, type Registry } from 'prom-client';

/** The `code` of a request that got no HTTP answer (refused, reset, TLS, timeout, aborted), as client-go labels it. */
export const KUBE_API_NO_ANSWER_CODE = '<error>';

/** client-go's rest_client_request_duration_seconds buckets. */
const DURATION_BUCKETS_S = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

/**
 * The Kubernetes API client's metrics, one set per registry (every client of
 * a service shares them):
 *
 * - `vk_kube_api_requests_total{verb,code}`: every request sent, by its HTTP
 *   code, or `<error>` when no answer came;
 * - `vk_kube_api_request_duration_seconds{verb}`: each request sent (a
 *   Retry-After resend is one more), from sending to the answer read.
 *   Client-side throttling is not in it, and watches are not: their streams
 *   live for minutes by design.
 */
export class KubeApiMetrics {
  static readonly #byRegistry = new WeakMap<Registry, KubeApiMetrics>();

  readonly #requests: Counter<'verb' | 'code'>;
  readonly #durations: Histogram<'verb'>;

  private constructor(registry: Registry) {
    this.#requests = new Counter({
      name: 'vk_kube_api_requests_total', help: 'Requests to the Kubernetes API by verb and HTTP code (<error>: no answer)',
      labelNames: ['verb', 'code'], registers: [registry],
    });
    this.#durations = new Histogram({
      name: 'vk_kube_api_request_duration_seconds', help: 'Time from sending a Kubernetes API request to its answer read, by verb (watches excepted)',
      labelNames: ['verb'], buckets: DURATION_BUCKETS_S, registers: [registry],
    });
  }

  static for(registry: Registry): KubeApiMetrics {
    let metrics = KubeApiMetrics.#byRegistry.get(registry);
    if (!metrics) {
      metrics = new KubeApiMetrics(registry);
      KubeApiMetrics.#byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  /** One request answered with `code`, or not answered (`code` undefined). */
  answered(verb: string, code: number | undefined): void {
    this.#requests.inc({ verb, code: code === undefined ? KUBE_API_NO_ANSWER_CODE : String(code) });
  }

  /** One request done (answered or not), sent at `sentAt` (performance.now()). */
  done(verb: string, sentAt: number): void {
    this.#durations.observe({ verb }, (performance.now() - sentAt) / 1000);
  }
}
