import { providerPodPages, type Logger, type PodJobData, type Provider } from '@vk-ts/core';
import type { PodCache } from './pod-cache.ts';
import { digestOf, type StatusDigests } from './status-digests.ts';

export interface StatusSyncOptions {
  provider: Provider;
  digests: StatusDigests;
  /** Enqueues a per-pod job (deduplicated by pod, like the watcher's). */
  enqueue: (job: PodJobData) => Promise<void>;
  logger: Logger;
  /** The worker's pod cache: a vanished pod it shows terminating is its deletion job's, not a status job's. */
  cache?: PodCache;
}

/**
 * The batch status sync: one provider listing per tick instead of one call
 * per pod, compared with the digests of what each pod's status was last
 * written from. Only pods whose provider state changed (a container exited,
 * restarted, became ready) or vanished get a per-pod job; that job, under the
 * pod's lock, does the reading and writing. Pods without a digest are
 * in-flight creates, left to their own jobs.
 */
export class StatusSync {
  readonly #o: StatusSyncOptions;

  constructor(options: StatusSyncOptions) {
    this.#o = options;
  }

  async run(): Promise<{ listed: number; changed: number; vanished: number }> {
    // The records first, then the provider page by page: a pod with a record had its provider pod created
    // before the record was written, so it is in the walk unless it vanished (a page at a time keeps a
    // worker's memory flat at any node size: a 10,000-pod listing in one answer was 5 MB of JSON every tick).
    const digests = await this.#o.digests.all();
    const jobs: PodJobData[] = [];
    let changed = 0;
    let listed = 0;
    for await (const page of providerPodPages(this.#o.provider)) {
      listed += page.length;
      for (const pod of page) {
        const known = digests.get(pod.ref.uid);
        digests.delete(pod.ref.uid);
        if (!known || known.digest === digestOf(pod)) continue;
        changed += 1;
        jobs.push({ ...pod.ref, resourceVersion: '', op: 'status' });
      }
    }
    // What is left had a status written from the provider and is no longer listed: lost, or being deleted.
    // A pod being deleted is its deletion job's, which removes the record before the pod object; were that
    // job lost, the node resync gives every terminating pod a pass. A status job would only race it and
    // read a vanishing pod. So: not the pods the cache shows terminating, and of the rest only those whose
    // record is still there now (the listings above may predate a deletion that has finished since).
    const vanished = [...digests.values()].filter(({ ref }) => !this.#o.cache?.terminating(ref));
    const stillRecorded = await this.#o.digests.present(vanished.map(({ ref }) => ref.uid));
    for (const { ref } of vanished) if (stillRecorded.has(ref.uid)) jobs.push({ ...ref, resourceVersion: '', op: 'status' });
    await Promise.all(jobs.map((job) => this.#o.enqueue(job)));
    const result = { listed, changed, vanished: jobs.length - changed };
    if (jobs.length) this.#o.logger.debug(result, 'status sync enqueued pods whose provider state changed');
    return result;
  }
}
