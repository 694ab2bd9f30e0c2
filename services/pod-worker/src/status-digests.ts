import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { podStatusDigestKey, type PodRef, type ProviderPod } from '@vk-ts/core';

/** The provider status a pod's `pods/status` was last written from, as the batch status sync compares it. */
export interface StatusDigest {
  ref: PodRef;
  digest: string;
  /** The pod's metadata.generation that pass reconciled (undefined when unknown: a value written by an older version). */
  generation: number | undefined;
}

/** A short, stable fingerprint of what the provider reports for a pod. */
export function digestOf(pod: ProviderPod): string {
  return createHash('sha1').update(JSON.stringify(pod.status)).digest('base64url');
}

/**
 * One Redis hash per node, uid → "<digest> <generation> <namespace>/<name>".
 * Written after each pass that brought a pod's status up to date; the batch
 * status sync compares one provider listing with it and only enqueues the
 * pods whose provider state changed or vanished, and the node resync
 * enqueues only pods without an entry, or whose spec generation moved on.
 * Losing it (FLUSHALL) costs nothing but one resync: entries come back as
 * pods are reconciled again.
 */
export class StatusDigests {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(redis: Redis, nodeName: string) {
    this.#redis = redis;
    this.#key = podStatusDigestKey(nodeName);
  }

  async set(pod: ProviderPod, generation: number | undefined): Promise<void> {
    await this.#redis.hset(this.#key, pod.ref.uid, valueOf(pod, generation));
  }

  /** Whether the pod's status was last written from exactly this provider state at this generation. */
  async wroteFrom(pod: ProviderPod, generation: number | undefined): Promise<boolean> {
    const value = await this.#redis.hget(this.#key, pod.ref.uid);
    return value === valueOf(pod, generation);
  }

  async delete(uid: string): Promise<void> {
    await this.#redis.hdel(this.#key, uid);
  }

  /** Which of these pods still have a record (one HMGET). */
  async present(uids: string[]): Promise<Set<string>> {
    if (uids.length === 0) return new Set();
    const values = await this.#redis.hmget(this.#key, ...uids);
    return new Set(uids.filter((_, i) => values[i] !== null));
  }

  async all(): Promise<Map<string, StatusDigest>> {
    const out = new Map<string, StatusDigest>();
    for (const [uid, value] of Object.entries(await this.#redis.hgetall(this.#key))) {
      const parts = value.split(' ');
      // Two fields: written before the generation was recorded; it reads as "unknown", which the resync re-checks once.
      const [digest = '', gen, path = ''] = parts.length >= 3 ? parts : [parts[0], undefined, parts[1]];
      const slash = path.indexOf('/');
      const generation = gen === undefined || gen === '-' ? undefined : Number(gen);
      out.set(uid, { digest, generation, ref: { namespace: path.slice(0, slash), name: path.slice(slash + 1), uid } });
    }
    return out;
  }
}

/** The hash value for a pod: "<digest> <generation or -> <namespace>/<name>". */
function valueOf(pod: ProviderPod, generation: number | undefined): string {
  return `${digestOf(pod)} ${generation ?? '-'} ${pod.ref.namespace}/${pod.ref.name}`;
}
