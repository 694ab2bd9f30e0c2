import type { Redis } from 'ioredis';
import { podLockKey, type PodJobData } from '@vk-ts/core';

/** Deletes the key only while it still holds our token, so an expired lock taken over by another worker is never released by us. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * The release script as an ioredis command: sent by its SHA (EVALSHA), and as
 * a whole only when Redis does not know it yet (after a restart or SCRIPT
 * FLUSH), instead of its text with every job.
 */
const RELEASE_COMMAND = 'vkReleasePodLock';
type ReleasingRedis = Redis & { [RELEASE_COMMAND](key: string, token: string): Promise<number> };

/**
 * Per-pod fencing lock in Redis: the backstop behind BullMQ's own job lock.
 * BullMQ already runs one job per pod at a time (deduplication by pod), but
 * a job it believes stalled (its worker's event loop blocked past the lock
 * duration) is handed to another worker while the first may still be
 * running. The pod lock makes that second run wait instead of acting on the
 * provider at the same time. Its TTL outlives a BullMQ lock so that the
 * re-run after a crash waits at most one TTL.
 */
export class PodLocks {
  readonly #redis: ReleasingRedis;
  readonly #nodeName: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, nodeName: string, ttlMs: number) {
    if (!(RELEASE_COMMAND in redis)) redis.defineCommand(RELEASE_COMMAND, { numberOfKeys: 1, lua: RELEASE });
    this.#redis = redis as ReleasingRedis;
    this.#nodeName = nodeName;
    this.#ttlMs = ttlMs;
  }

  /** True when the lock is now ours (or already was, under the same token). */
  async acquire(pod: Pick<PodJobData, 'namespace' | 'name'>, token: string): Promise<boolean> {
    const key = podLockKey(this.#nodeName, pod);
    if ((await this.#redis.set(key, token, 'PX', this.#ttlMs, 'NX')) === 'OK') return true;
    return (await this.#redis.get(key)) === token;
  }

  /** Releases the lock if it is still ours; true when it was (false: it had expired, and maybe been taken by another worker). */
  async release(pod: Pick<PodJobData, 'namespace' | 'name'>, token: string): Promise<boolean> {
    return (await this.#redis[RELEASE_COMMAND](podLockKey(this.#nodeName, pod), token)) === 1;
  }
}
