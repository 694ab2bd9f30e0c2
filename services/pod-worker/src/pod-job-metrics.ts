import type { Job, Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The queue states counted on each scrape (no priorities or flows are used, so no `prioritized` or `waiting-children`). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export type JobResult = 'ok' | 'error' | 'requeued';

const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const WAIT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface PodJobMetricsOptions {
  registry: Registry;
  /** The node's queue, whose counts each scrape reads. */
  queue: Pick<Queue, 'getJobCounts'>;
  /**
   * False while the queue's Redis connection is down: a scrape then reads no
   * counts (the command would only wait in the client's offline queue).
   */
  connected?: () => boolean;
  /** How long a scrape waits for the counts before it answers without them. */
  countTimeoutMs?: number;
}

/**
 * The pod-worker's job metrics:
 *
 * - `vk_pod_queue_jobs{state}`: jobs in the node's queue by state, read on
 *   each scrape. When Redis is down or slow the scrape answers without new
 *   counts (the last ones stay) after at most `countTimeoutMs`.
 * - `vk_pod_jobs_total{op,result}` and `vk_pod_job_duration_seconds{op,result}`:
 *   jobs this worker ran and how long each took.
 * - `vk_pod_job_wait_seconds{op}`: from a job's creation (or the end of the
 *   delay it was added with) to its processing start, for a job's first run
 *   only: BullMQ keeps no record of when a retried or requeued job's delay ended.
 *   Across hosts it includes their clock skew.
 */
export class PodJobMetrics {
  readonly #jobs: Counter<'op' | 'result'>;
  readonly #durations: Histogram<'op' | 'result'>;
  readonly #waits: Histogram<'op'>;

  constructor(options: PodJobMetricsOptions) {
    const { registry, queue, connected = () => true, countTimeoutMs = 1000 } = options;
    new Gauge({
      name: 'vk_pod_queue_jobs', help: 'Jobs in this node\'s queue by state, read from Redis on scrape',
      labelNames: ['state'], registers: [registry],
      async collect() {
        if (!connected()) return;
        const counts = await withinMs(queue.getJobCounts(...QUEUE_STATES), countTimeoutMs);
        if (!counts) return;
        for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    this.#jobs = new Counter({
      name: 'vk_pod_jobs_total', help: 'Jobs this worker ran, by what triggered them (node-resync and status-sync are node-wide) and how they ended',
      labelNames: ['op', 'result'], registers: [registry],
    });
    this.#durations = new Histogram({
      name: 'vk_pod_job_duration_seconds', help: 'Time this worker spent on a job, by op and result',
      labelNames: ['op', 'result'], buckets: DURATION_BUCKETS_S, registers: [registry],
    });
    this.#waits = new Histogram({
      name: 'vk_pod_job_wait_seconds', help: 'Time a job waited in the queue before its first run, by op',
      labelNames: ['op'], buckets: WAIT_BUCKETS_S, registers: [registry],
    });
  }

  /** A job's run begins; answers the time to hand to finished(). */
  started(op: string, job: Pick<Job, 'timestamp' | 'processedOn' | 'attemptsStarted' | 'opts'>): number {
    if (job.attemptsStarted <= 1) {
      const processedOn = job.processedOn ?? Date.now();
      const waitMs = processedOn - job.timestamp - (job.opts.delay ?? 0);
      this.#waits.observe({ op }, Math.max(0, waitMs) / 1000);
    }
    return performance.now();
  }

  finished(op: string, result: JobResult, startedAt: number): void {
    const labels = { op, result };
    this.#jobs.inc(labels);
    this.#durations.observe(labels, (performance.now() - startedAt) / 1000);
  }
}

/** `promise`'s value, or undefined when it fails or takes longer than `ms`. */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); });
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
