import type { Queue } from 'bullmq';
import {
  POD_JOB_NAME, STATUS_SYNC_JOB, RESYNC_JOB, delay, runListWatch, untilAborted,
  type KubeRestClient, type Logger, type PodJobData, type PodOperation,
} from '@vk-ts/core';
import { EnqueueBatcher } from './enqueue-batcher.ts';

interface PodMeta {
  metadata: {
    namespace: string; name: string; uid: string; resourceVersion: string; generation?: number;
    deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string>;
  };
}

export interface PodWatcherOptions {
  client: KubeRestClient;
  queue: Queue<PodJobData>;
  nodeName: string;
  logger: Logger;
  resyncIntervalMs: number;
  /** How often a worker polls the provider for every pod's state in one call (batch status sync); 0 disables. */
  statusSyncIntervalMs: number;
}

/**
 * List+watch of the pods bound to one node, turning every relevant change
 * (spec, deletion, labels, annotations) into a reconcile job. Status-only
 * changes (ours) are not enqueued. On 410 Gone it relists; otherwise it
 * resumes from the last resourceVersion, with capped backoff. Each (re)list
 * enqueues every pod (missed events cannot be known); a periodic node resync
 * job lets a worker rebuild lost work and delete orphans. A shorter periodic tick
 * enqueues the batch status sync, which carries provider-side changes
 * (a container exits, a pod vanishes) to the pods.
 */
export class PodWatcher {
  readonly #o: PodWatcherOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #batcher: EnqueueBatcher;
  /** uid → signature of the fields that matter; decides what is "relevant". */
  readonly #seen = new Map<string, string>();
  #loops: Promise<void>[] = [];
  #closing: Promise<void> | undefined;

  constructor(options: PodWatcherOptions) {
    this.#o = options;
    this.#log = options.logger.child({ node: options.nodeName, component: 'pod-watcher' });
    this.#batcher = new EnqueueBatcher(options.queue);
  }

  start(): void {
    this.#loops.push(this.#watchLoop(), this.#resyncLoop());
    if (this.#o.statusSyncIntervalMs > 0) this.#loops.push(this.#statusSyncLoop());
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      await Promise.allSettled(this.#loops);
    })();
    return this.#closing;
  }

  #watchLoop(): Promise<void> {
    // Every (re)list also resyncs the node: after a gap we cannot know which deletions were missed.
    return runListWatch<PodMeta>({
      client: this.#o.client,
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${this.#o.nodeName}`,
      // The watcher only reads metadata: the API server sends nothing else (less to send and to parse per event).
      metadataOnly: true,
      // Enqueues wait on Redis, which may be down: a shutdown does not wait for them (the next leader relists).
      onList: (items) => untilAborted(this.#enqueueAll(items), this.#abort.signal),
      onEvent: (type, pod) => this.#onEvent(type, pod),
      logger: this.#log,
      signal: this.#abort.signal,
    });
  }

  /**
   * The periodic resync is one node-wide job: a worker finds the pods whose
   * work was lost by comparing listings in memory, instead of this loop
   * enqueueing every pod (at 10,000 pods that was 10,000 jobs a minute, more
   * than the whole pipeline's throughput on a small machine).
   */
  async #resyncLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await delay(this.#o.resyncIntervalMs, signal);
      if (signal.aborted) break;
      await untilAborted(this.#enqueueResync(), signal);
    }
  }

  async #statusSyncLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await delay(this.#o.statusSyncIntervalMs, signal);
      if (signal.aborted) break;
      await untilAborted(this.#o.queue.add(POD_JOB_NAME, STATUS_SYNC_JOB.data, STATUS_SYNC_JOB.options)
        .catch((err: unknown) => this.#log.warn({ err }, 'cannot enqueue the status sync; next one at the next interval')), signal);
    }
  }

  /**
   * Enqueues every listed pod (after a (re)list we cannot know what the
   * missed events were) and the node resync (which also deletes orphans).
   */
  async #enqueueAll(items: PodMeta[]): Promise<void> {
    const present = new Set<string>();
    await Promise.all(items.map(async (pod) => {
      present.add(pod.metadata.uid);
      this.#remember(pod);
      await this.#enqueue(jobOf(pod, 'resync'));
    }));
    for (const uid of this.#seen.keys()) if (!present.has(uid)) this.#seen.delete(uid);
    await this.#enqueueResync();
  }

  /**
   * Synchronous on purpose: only the job's few fields outlive this call, so
   * that thousands of enqueues waiting on Redis during a burst do not keep
   * thousands of whole pod objects alive.
   */
  #onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: PodMeta): void {
    if (type === 'DELETED') {
      const signature = this.#seen.get(pod.metadata.uid);
      this.#seen.delete(pod.metadata.uid);
      // Seen terminating before: that version's job deletes the pod from the provider whether the object is
      // still there or not, and finishes only once the provider let it go. Only a deletion we never saw
      // coming (a force delete of a running pod, or a gap in the watch) needs a job of its own.
      if (signature !== undefined && terminating(signature)) return;
      void this.#enqueue(jobOf(pod, 'delete'));
      return;
    }
    const isNew = !this.#seen.has(pod.metadata.uid);
    if (!this.#remember(pod)) return;
    void this.#enqueue(jobOf(pod, isNew ? 'create' : pod.metadata.deletionTimestamp ? 'delete' : 'update'));
  }

  /** True when the pod changed in a way the worker must act on. */
  #remember(pod: PodMeta): boolean {
    const m = pod.metadata;
    // Whether the pod is terminating, not when: the API server moves deletionTimestamp earlier when the
    // worker deletes the object with grace 0, and that change needs no second job (the terminating pod's
    // job polls it until it is gone and reads a shortened deadline itself).
    const signature = JSON.stringify([m.deletionTimestamp !== undefined, m.generation, m.labels, m.annotations]);
    if (this.#seen.get(m.uid) === signature) return false;
    this.#seen.set(m.uid, signature);
    return true;
  }

  async #enqueue(data: PodJobData): Promise<void> {
    try {
      await this.#batcher.add(data);
    } catch (err) {
      // Not lost: the next node resync finds the pod's work undone and enqueues it.
      this.#log.warn({ err, pod: `${data.namespace}/${data.name}` }, 'cannot enqueue pod; the next resync will');
    }
  }

  /** The node-wide resync job: lost work and orphan provider pods (see RESYNC_JOB). */
  async #enqueueResync(): Promise<void> {
    await this.#o.queue.add(POD_JOB_NAME, RESYNC_JOB.data, RESYNC_JOB.options)
      .catch((err: unknown) => this.#log.warn({ err }, 'cannot enqueue the node resync; next one at the next interval'));
  }
}

function jobOf(pod: PodMeta, op: PodOperation): PodJobData {
  const m = pod.metadata;
  return { namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion, op };
}

/** Whether a signature from #remember is that of a pod with a deletion timestamp. */
function terminating(signature: string): boolean {
  return signature.startsWith('[true,');
}
