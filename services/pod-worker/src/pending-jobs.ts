import type { Redis } from 'ioredis';
import { podJobKey, type PodJobData } from '@vk-ts/core';

/** Keys per MGET: large enough that 10,000 pods cost 10 round trips, small enough not to stall Redis. */
const CHUNK = 1000;

/**
 * Which pods already have a reconcile job waiting, delayed, retrying or
 * running. BullMQ keeps one deduplication key per pending job
 * (`<queue keys.de>:<dedup id>`, our id is `podJobKey`) from the add until
 * the job completes or fails for good, and removes it with the job.
 *
 * The node resync asks this before it enqueues: in a burst or a mass
 * deletion nearly every pod it finds with work still has its job in the
 * queue, and enqueueing it again is a no-op that costs a BullMQ script
 * call (about ten Redis commands) and a pending promise per pod. One MGET
 * per 1,000 pods answers the same question.
 */
export class PendingJobs {
  readonly #redis: Redis;
  readonly #prefix: string;

  /** `dedupKeyPrefix`: the queue's `toKey('de')` (BullMQ's `keys.de`). */
  constructor(redis: Redis, dedupKeyPrefix: string) {
    this.#redis = redis;
    this.#prefix = dedupKeyPrefix;
  }

  /** The jobs whose pod has no job pending, in their order. */
  async withoutPendingJob(jobs: PodJobData[]): Promise<PodJobData[]> {
    const out: PodJobData[] = [];
    for (let i = 0; i < jobs.length; i += CHUNK) {
      const chunk = jobs.slice(i, i + CHUNK);
      const ids = await this.#redis.mget(chunk.map((job) => `${this.#prefix}:${podJobKey(job)}`));
      chunk.forEach((job, j) => { if (ids[j] === null) out.push(job); });
    }
    return out;
  }
}
