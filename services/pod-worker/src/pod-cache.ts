import type { V1Pod } from '@kubernetes/client-node';
import { runListWatch, type KubeRestClient, type Logger } from '@vk-ts/core';

export interface PodCacheOptions {
  client: KubeRestClient;
  nodeName: string;
  logger: Logger;
}

/**
 * The pods bound to one node as a list+watch keeps them, so that a job whose
 * pod the cache holds at the job's resourceVersion costs no GET (a burst of
 * N pods then costs N status PATCHes and no reads). Entries drop
 * `managedFields`, which no worker reads, to keep memory per pod small.
 * Lookups never wait for the cache: a miss is answered by the API server.
 */
export class PodCache {
  readonly #o: PodCacheOptions;
  readonly #pods = new Map<string, V1Pod>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

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
      },
      onEvent: (type, pod) => {
        if (type === 'DELETED') this.#pods.delete(keyOf(pod));
        else this.#put(pod);
      },
      logger: this.#o.logger.child({ component: 'pod-cache' }),
      signal: this.#abort.signal,
    });
  }

  /** The cached pod when the cache has it at exactly `resourceVersion` (any version when that is empty). */
  get(namespace: string, name: string, resourceVersion: string): V1Pod | undefined {
    const pod = this.#pods.get(`${namespace}/${name}`);
    if (!pod) return undefined;
    return !resourceVersion || pod.metadata?.resourceVersion === resourceVersion ? pod : undefined;
  }

  get size(): number {
    return this.#pods.size;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  #put(pod: V1Pod): void {
    if (pod.metadata) delete pod.metadata.managedFields;
    this.#pods.set(keyOf(pod), pod);
  }
}

function keyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}
