import type { V1Pod } from '@kubernetes/client-node';
import {
  isKubeNotFound, providerPodPages, type KubeRestClient, type Logger, type PodJobData, type PodRef, type Provider,
} from '@vk-ts/core';
import type { PendingJobs } from './pending-jobs.ts';
import { summaryOf, type PodCache, type PodSummary } from './pod-cache.ts';
import { forgetPod } from './forget-pod.ts';
import type { StatusDigests } from './status-digests.ts';

export interface NodeResyncOptions {
  client: KubeRestClient;
  provider: Provider;
  digests: StatusDigests;
  /** The worker's pod cache; until it has synced, the node's pods are listed from the API server. */
  cache?: PodCache;
  /** Enqueues a per-pod job (deduplicated by pod, like the watcher's). */
  enqueue: (job: PodJobData) => Promise<void>;
  /** Pods whose job is still in the queue are not enqueued again; without it every pod found with work is. */
  pendingJobs?: PendingJobs;
  nodeName: string;
  logger: Logger;
}

export interface NodeResyncResult {
  pods: number;
  enqueued: number;
  /** Pods found with work whose job was still in the queue (not enqueued again). */
  pending: number;
  orphans: number;
}

/**
 * The periodic resync, one node-wide job instead of one job per pod: it
 * rebuilds lost work (a job dropped with Redis, a pass that failed for good)
 * from three listings held in memory — the node's pods, the provider's pods
 * and the status digests — and enqueues only the pods that need a pass and
 * have no job in the queue already (in a burst or a mass deletion most do):
 *   - terminating pods (their deletion may have lost its job);
 *   - pods that are not finished and either not in the provider, without a
 *     digest (their status was never brought up to date), or with a spec
 *     generation newer than the one last reconciled.
 * A pod that is Running as last written costs nothing, so a node with 10,000
 * settled pods resyncs in one job rather than 10,000.
 * It also deletes provider pods that no pod object on this node owns
 * (providers only list pods this installation created); each candidate is
 * read again by name first, so a pod created after the listings is never
 * taken for an orphan.
 */
export class NodeResync {
  readonly #o: NodeResyncOptions;

  constructor(options: NodeResyncOptions) {
    this.#o = options;
  }

  async run(): Promise<NodeResyncResult> {
    const { provider, digests } = this.#o;
    // Provider and digests first: a pod created after these listings is in the pod listing but not in them,
    // and gets a (harmless) extra pass, never the reverse (an orphan verdict is re-checked by name anyway).
    const [inProvider, known] = await Promise.all([providerRefs(provider), digests.all()]);
    const pods = await this.#nodePods();
    const jobs: PodJobData[] = [];
    const owned = new Set<string>();
    for (const pod of pods) {
      owned.add(pod.uid);
      if (needsPass(pod, inProvider.has(pod.uid), known.get(pod.uid)?.generation, known.has(pod.uid))) {
        jobs.push({ namespace: pod.namespace, name: pod.name, uid: pod.uid, resourceVersion: '', op: 'resync' });
      }
    }
    const lost = this.#o.pendingJobs ? await this.#o.pendingJobs.withoutPendingJob(jobs) : jobs;
    await Promise.all(lost.map((job) => this.#o.enqueue(job)));
    let orphans = 0;
    for (const [uid, ref] of inProvider) {
      if (!owned.has(uid) && await this.#deleteIfOrphan(ref)) orphans += 1;
    }
    const result = { pods: pods.length, enqueued: lost.length, pending: jobs.length - lost.length, orphans };
    this.#o.logger.debug(result, 'node resync done');
    return result;
  }

  async #nodePods(): Promise<PodSummary[]> {
    const { cache, client, nodeName } = this.#o;
    if (cache?.synced) return [...cache.summaries()];
    const pods: PodSummary[] = [];
    await client.listPaged<V1Pod>('/api/v1/pods', { fieldSelector: `spec.nodeName=${nodeName}` }, (page) => {
      for (const pod of page) pods.push(summaryOf(pod));
    });
    return pods;
  }

  async #deleteIfOrphan(ref: PodRef): Promise<boolean> {
    const { client, provider, nodeName, logger, digests } = this.#o;
    try {
      const current = await client.get<V1Pod>(`/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.name)}`);
      if (current.metadata?.uid === ref.uid && current.spec?.nodeName === nodeName) return false;
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
    }
    logger.info({ pod: `${ref.namespace}/${ref.name}`, uid: ref.uid }, 'deleting orphan provider pod');
    await forgetPod(provider, digests, ref);
    return true;
  }
}

/** uid → reference of every provider pod, walked a page at a time (only the references are kept). */
async function providerRefs(provider: Provider): Promise<Map<string, PodRef>> {
  const refs = new Map<string, PodRef>();
  for await (const page of providerPodPages(provider)) for (const pod of page) refs.set(pod.ref.uid, pod.ref);
  return refs;
}

/** Whether a pod may have work nobody is doing (see NodeResync). */
export function needsPass(pod: PodSummary, inProvider: boolean, reconciledGeneration: number | undefined, hasDigest: boolean): boolean {
  if (pod.terminating) return true;
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return false;
  const pastDeadline = pod.activeDeadlineAt !== undefined && Date.now() >= pod.activeDeadlineAt;
  return !inProvider || !hasDigest || reconciledGeneration !== pod.generation || pastDeadline;
}
