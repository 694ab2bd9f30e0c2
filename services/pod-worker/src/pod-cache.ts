import type { V1Pod } from '@kubernetes/client-node';
import { compareResourceVersions, runListWatch, type KubeRestClient, type Logger } from '@vk-ts/core';
import { activeDeadlineAt } from './active-deadline.ts';

export interface PodCacheOptions {
  client: KubeRestClient;
  nodeName: string;
  logger: Logger;
}

/** What the node resync needs of a pod, without parsing it. */
export interface PodSummary {
  namespace: string;
  name: string;
  uid: string;
  generation: number | undefined;
  terminating: boolean;
  phase: string | undefined;
  /** When `spec.activeDeadlineSeconds` ends the pod (ms since the epoch), counted from its start time. */
  activeDeadlineAt: number | undefined;
}

interface Entry extends PodSummary {
  resourceVersion: string;
  /**
   * The pod as JSON, without managedFields (a string costs a third of the
   * memory of the parsed object); undefined for a settled pod, of which only
   * the summary is kept (see `settled`).
   */
  json: string | undefined;
}

/**
 * The pods bound to one node as a list+watch keeps them, so that a job whose
 * pod the cache holds costs no GET (a burst of N pods then costs N status
 * PATCHes and no reads).
 *
 * A job's pod is served when the cache holds it at the job's resourceVersion
 * or a newer one (resourceVersions are comparable since Kubernetes 1.35,
 * KEP-5504; otherwise only the same version counts). When the cache is
 * behind (a busy worker reads its watch later than the node-agent enqueued
 * the job), `getFresh` waits a bounded time for the watch to catch up before
 * the caller falls back to a GET.
 *
 * Memory: a pod that may still have work is kept as JSON: a Pending one
 * whole without `managedFields`, about 3 KB instead of about 10 KB parsed; a
 * terminating one only as its deletion needs it (`deletionView`, about 0.3
 * KB). Each lookup parses its pod, so callers get their own copy to modify. A
 * settled pod (Running, Succeeded or Failed, not terminating: the state a
 * node's pods spend nearly all their life in) keeps only its summary, about
 * 0.2 KB: a job for it is done without the pod when the provider shows the
 * state its status was last written from (PodReconciler), and otherwise
 * reads it from the API server (a container exited, an image change). The bursts and the
 * deletions read no pod per pod: a created pod is Pending and a deleted one
 * terminating when their jobs run. At 10,000 Running pods this keeps about
 * 30 MB less live heap in every worker, and V8 commits a multiple of it.
 */
export class PodCache {
  readonly #o: PodCacheOptions;
  readonly #pods = new Map<string, Entry>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #synced = false;
  /** key → callbacks run at the next change of that key (ADDED, MODIFIED, DELETED). */
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(options: PodCacheOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop ??= runListWatch<V1Pod>({
      client: this.#o.client,
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${this.#o.nodeName}`,
      onList: (items) => {
        this.#pods.clear();
        for (const pod of items) this.#put(pod);
        this.#synced = true;
      },
      onEvent: (type, pod) => {
        if (type === 'DELETED') {
          this.#pods.delete(keyOf(pod));
          this.#wake(keyOf(pod));
        } else {
          this.#put(pod);
        }
      },
      logger: this.#o.logger.child({ component: 'pod-cache' }),
      signal: this.#abort.signal,
    });
  }

  /**
   * The cached pod when the cache has it at `resourceVersion` or newer (any
   * version when that is empty). Undefined when it is not cached, is behind,
   * or is settled (only its summary is kept): the caller reads the API server.
   */
  get(namespace: string, name: string, resourceVersion: string): V1Pod | undefined {
    const entry = this.#pods.get(`${namespace}/${name}`);
    return entry && current(entry, resourceVersion) ? parsed(entry) : undefined;
  }

  /**
   * Like `get`, but when the cache is behind the job's version, waits up to
   * `maxWaitMs` for the watch to bring it. A pod the cache does not hold is
   * waited for only when `expectPresent` (the job was enqueued for a version
   * that exists, e.g. a creation the watch has not shown this worker yet);
   * otherwise (a deletion) its absence is the answer. A settled pod at the
   * version is not waited for. Undefined when the cache cannot serve the
   * job: the caller reads the API server.
   */
  async getFresh(namespace: string, name: string, resourceVersion: string, maxWaitMs: number, expectPresent = false): Promise<V1Pod | undefined> {
    const key = `${namespace}/${name}`;
    const deadline = Date.now() + maxWaitMs;
    let waited = false;
    for (;;) {
      const entry = this.#pods.get(key);
      if (entry && current(entry, resourceVersion)) return parsed(entry);
      // Once woken for this key, a missing pod is gone (DELETED came): no more waiting.
      if (!entry && (!expectPresent || waited || !resourceVersion)) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      waited = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        let waiters = this.#waiters.get(key);
        if (!waiters) this.#waiters.set(key, (waiters = new Set()));
        waiters.add(done);
        function done(): void {
          clearTimeout(timer);
          waiters!.delete(done);
          resolve();
        }
      });
    }
  }

  /**
   * The summary of a settled pod the cache holds at `resourceVersion` or
   * newer (only the summary is kept of it); undefined otherwise.
   */
  settled(namespace: string, name: string, resourceVersion: string): PodSummary | undefined {
    const entry = this.#pods.get(`${namespace}/${name}`);
    if (!entry || entry.json !== undefined || !current(entry, resourceVersion)) return undefined;
    const { uid, generation, terminating, phase, activeDeadlineAt } = entry;
    return { namespace, name, uid, generation, terminating, phase, activeDeadlineAt };
  }

  /** Whether the cache holds this pod (same uid) with a deletion timestamp. */
  terminating(ref: { namespace: string; name: string; uid: string }): boolean {
    const entry = this.#pods.get(`${ref.namespace}/${ref.name}`);
    return entry !== undefined && entry.uid === ref.uid && entry.terminating;
  }

  /** True once the first list arrived: from then on `summaries()` is the node's pods as of the watch. */
  get synced(): boolean {
    return this.#synced;
  }

  /** A summary of every cached pod. */
  *summaries(): IterableIterator<PodSummary> {
    for (const { namespace, name, uid, generation, terminating, phase, activeDeadlineAt } of this.#pods.values()) {
      yield { namespace, name, uid, generation, terminating, phase, activeDeadlineAt };
    }
  }

  get size(): number {
    return this.#pods.size;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  #put(pod: V1Pod): void {
    const m = pod.metadata ?? {};
    delete m.managedFields;
    const key = keyOf(pod);
    const summary = summaryOf(pod);
    const json = settled(summary) ? undefined : JSON.stringify(summary.terminating ? deletionView(pod) : pod);
    this.#pods.set(key, { ...summary, resourceVersion: m.resourceVersion ?? '', json });
    this.#wake(key);
  }

  #wake(key: string): void {
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }
}

export function summaryOf(pod: V1Pod): PodSummary {
  const m = pod.metadata ?? {};
  return {
    namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '', generation: m.generation,
    terminating: m.deletionTimestamp !== undefined && m.deletionTimestamp !== null, phase: pod.status?.phase,
    activeDeadlineAt: activeDeadlineAt(pod),
  };
}

/**
 * What a terminating pod's deletion job reads of it (PodReconciler: the
 * provider delete with the pod's grace period, then the final DELETE with a
 * UID precondition), about 0.3 KB instead of about 3 KB: a node's pods are
 * deleted in bursts too (a Deployment scaled to zero), and the whole pods
 * of a 10,000-pod deletion waiting in the cache were about 30 MB of a
 * worker's peak. Everything else (containers, volumes, status detail) is
 * left out; a pod being deleted is never created or written again.
 */
export function deletionView(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {};
  return {
    metadata: {
      namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion, generation: m.generation,
      deletionTimestamp: m.deletionTimestamp, deletionGracePeriodSeconds: m.deletionGracePeriodSeconds,
      ...(m.finalizers?.length ? { finalizers: m.finalizers } : {}),
    },
    spec: { nodeName: pod.spec?.nodeName, containers: [] },
    status: { phase: pod.status?.phase },
  };
}

/**
 * A pod with nothing left to create: it runs, or has finished, and is not
 * being deleted. What changes it next arrives as a new version through the
 * watch (a deletion, a spec change) or is rare (a provider-side change).
 */
function settled(pod: PodSummary): boolean {
  return !pod.terminating && (pod.phase === 'Running' || pod.phase === 'Succeeded' || pod.phase === 'Failed');
}

/** Whether the entry is at `resourceVersion` or newer (any version when that is empty). */
function current(entry: Entry, resourceVersion: string): boolean {
  return !resourceVersion || atLeast(entry.resourceVersion, resourceVersion);
}

function parsed(entry: Entry): V1Pod | undefined {
  return entry.json === undefined ? undefined : JSON.parse(entry.json) as V1Pod;
}

/** Whether `have` is `want` or newer; without comparable versions, only the same version counts. */
function atLeast(have: string, want: string): boolean {
  const order = compareResourceVersions(have, want);
  return order === undefined ? have === want : order >= 0;
}

function keyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}
