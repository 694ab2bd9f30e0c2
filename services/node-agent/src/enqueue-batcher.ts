import type { Queue } from 'bullmq';
import { POD_JOB_NAME, podJobOptions, type PodJobData } from '@vk-ts/core';

/** Most jobs sent in one pipeline (a relist of 10,000 pods goes out in 20). */
const MAX_BATCH = 500;

/**
 * Sends the pod jobs asked for in one event-loop turn as one Redis pipeline
 * (BullMQ addBulk): one write and one round trip instead of one per job. A
 * watch chunk in a burst carries dozens of events. (In CPU profiles the
 * per-job writes looked like a fifth of the node-agent's time, but most of
 * that was the process being preempted by Redis on a saturated machine; in
 * CPU seconds the batching measured within noise, bench/README.)
 * Deduplication by pod still happens per job, in BullMQ's add script.
 */
export class EnqueueBatcher {
  readonly #queue: Queue<PodJobData>;
  #pending: { data: PodJobData; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #scheduled = false;

  constructor(queue: Queue<PodJobData>) {
    this.#queue = queue;
  }

  /** Resolves once the job's pipeline was answered; rejects with the pipeline's first error. */
  add(data: PodJobData): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ data, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const all = this.#pending;
    this.#pending = [];
    if (all.length === 1) {
      // A lone job (steady trickle of events) is one script call: a pipeline for it would cost more in the
      // client (ioredis copies every BullMQ script onto each pipeline it builds) than it saves.
      const { data, resolve, reject } = all[0]!;
      this.#queue.add(POD_JOB_NAME, data, podJobOptions(data)).then(() => resolve(), reject);
      return;
    }
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const batch = all.slice(i, i + MAX_BATCH);
      this.#queue.addBulk(batch.map(({ data }) => ({ name: POD_JOB_NAME, data, opts: podJobOptions(data) })))
        .then(() => { for (const b of batch) b.resolve(); }, (err: unknown) => { for (const b of batch) b.reject(err); });
    }
  }
}
