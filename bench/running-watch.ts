import type { KubeRestClient, WatchEvent } from '@vk-ts/core';

interface Pod {
  metadata: { name: string; resourceVersion: string; creationTimestamp?: string };
  status?: { phase?: string };
}

/** What the bench's own watch saw of one pod, as epoch milliseconds. */
export interface PodObservation {
  /** When the create call returned (set by the load generator): the object exists from then on. */
  createdAtMs?: number;
  /** metadata.creationTimestamp (whole seconds). */
  creationTimestampMs?: number;
  runningAtMs?: number;
  deletedAtMs?: number;
}

/**
 * The bench's observer: one watch on a namespace's pods bound to a node,
 * recording when each pod was first seen Running and when it disappeared.
 * Resumes from the last resourceVersion when the server ends the stream.
 */
export class RunningWatch {
  readonly pods = new Map<string, PodObservation>();
  runningCount = 0;
  deletedCount = 0;
  /** Times the server ended the watch stream and it was reopened. */
  restarts = 0;
  readonly #client: KubeRestClient;
  readonly #path: string;
  readonly #fieldSelector: string;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(client: KubeRestClient, options: { namespace: string; nodeName: string }) {
    this.#client = client;
    this.#path = `/api/v1/namespaces/${options.namespace}/pods`;
    this.#fieldSelector = `spec.nodeName=${options.nodeName}`;
  }

  /** Resolves once the initial list is in and the watch is open. */
  async start(): Promise<void> {
    const list = await this.#client.get<{ metadata: { resourceVersion: string }; items: Pod[] }>(this.#path, { query: { fieldSelector: this.#fieldSelector } });
    for (const pod of list.items) this.#seen(pod, Date.now());
    this.#loop = this.#run(list.metadata.resourceVersion);
  }

  /** The load generator tells when a create call returned. */
  created(name: string, atMs: number): void {
    this.#get(name).createdAtMs = atMs;
  }

  /** Resolves when `done()` holds, checked after every event; rejects after timeoutMs. */
  until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (running ${this.runningCount}, deleted ${this.deletedCount})`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Idempotent. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  #get(name: string): PodObservation {
    let o = this.pods.get(name);
    if (!o) this.pods.set(name, (o = {}));
    return o;
  }

  #seen(pod: Pod, atMs: number): void {
    const o = this.#get(pod.metadata.name);
    if (o.creationTimestampMs === undefined && pod.metadata.creationTimestamp) o.creationTimestampMs = Date.parse(pod.metadata.creationTimestamp);
    if (o.runningAtMs === undefined && pod.status?.phase === 'Running') {
      o.runningAtMs = atMs;
      this.runningCount++;
    }
  }

  async #run(resourceVersion: string): Promise<void> {
    let rv = resourceVersion;
    while (!this.#abort.signal.aborted) {
      try {
        await this.#client.watch<Pod>(this.#path, { fieldSelector: this.#fieldSelector, resourceVersion: rv, allowWatchBookmarks: true }, (e: WatchEvent<Pod>) => {
          const at = Date.now();
          rv = e.object.metadata.resourceVersion;
          if (e.type === 'ADDED' || e.type === 'MODIFIED') this.#seen(e.object, at);
          else if (e.type === 'DELETED') {
            const o = this.#get(e.object.metadata.name);
            if (o.deletedAtMs === undefined) {
              o.deletedAtMs = at;
              this.deletedCount++;
            }
          }
          for (const w of [...this.#waiters]) w();
        }, this.#abort.signal);
        if (!this.#abort.signal.aborted) this.restarts++;
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        throw new Error(`bench watch on ${this.#path} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
