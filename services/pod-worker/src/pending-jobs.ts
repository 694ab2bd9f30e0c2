import type { Redis } from 'ioredis';
import { podJobKey, type PodJobData } from '@vk-ts/core';

/** Keys per MGET: large enough that 10,000 pods cost 10 round trips, small enough not to stall Redis. */
const CHUNK = 1000;

/**
 * Which pods already have a reconcile job waiting, delayed, retrying or
 * running. BullMQ keeps one deduplication key per pending job
 * (`<queue prefix>de:<dedup id>`, our id is `podJobKey`, its value the job
 * id) from the add until the job completes or fails for good, and removes it
 * with the job. A key whose job is gone (a stray key: BullMQ's own `add`
 * recovers those) does not count: that pod goes through `add` again, or the
 * resync would skip it forever.
 *
 * The node resync asks this before it enqueues: in a burst or a mass
 * deletion nearly every pod it finds with work still has its job in the
 * queue, and enqueueing it again is a no-op that costs a BullMQ script
 * call (about ten Redis commands) and a pending promise per pod. One MGET
 * (and one EXISTS per key found) per 1,000 pods answers the same question.
 * A pod whose job is running counts as pending too: what that pass misses
 * waits for the next resync instead of a follow-up job.
 */
export class PendingJobs {
  readonly #redis: Redis;
  readonly #prefix: string;

  /** `queueKeyPrefix`: the queue's `toKey('')`, e.g. `bull:vk-pods-<node>:`; job hashes and `de:` keys live under it. */
  constructor(redis: Redis, queueKeyPrefix: string) {
    this.#redis = redis;
    this.#prefix = queueKeyPrefix;
  }

  /** The jobs whose pod has no job pending, in their order. */
  async withoutPendingJob(jobs: PodJobData[]): Promise<PodJobData[]> {
    const out: PodJobData[] = [];
    for (let i = 0; i < jobs.length; i += CHUNK) {
      const chunk = jobs.slice(i, i + CHUNK);
      const ids = await this.#redis.mget(chunk.map((job) => `${this.#prefix}de:${podJobKey(job)}`));
      const keyed = chunk.flatMap((job, j) => (ids[j] === null ? [] : [{ job, id: ids[j]! }]));
      const alive = keyed.length ? await this.#redis.pipeline(keyed.map(({ id }) => ['exists', `${this.#prefix}${id}`])).exec() : [];
      const pending = new Set(keyed.filter((_, k) => alive?.[k]?.[1] === 1).map(({ job }) => job));
      out.push(...chunk.filter((job) => !pending.has(job)));
    }
    return out;
  }
}
