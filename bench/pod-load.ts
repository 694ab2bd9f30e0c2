import type { KubeRestClient } from '@vk-ts/core';

/**
 * The pod every scenario creates: already bound (spec.nodeName), so the
 * scheduler is out of the measurement. Without `serviceAccountToken` it
 * mounts no ServiceAccount token, so the scenarios measure the pod's
 * lifecycle alone; with it, the API server's admission gives it the
 * `kube-api-access` projected volume, as it gives a Deployment's pods by
 * default, and a kubelet must request a token for each pod (ours: one
 * TokenRequest, a POST).
 */
export function benchPod(name: string, nodeName: string, serviceAccountToken = false): unknown {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: 'bench' } },
    spec: {
      nodeName,
      automountServiceAccountToken: serviceAccountToken,
      tolerations: [{ operator: 'Exists' }],
      containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
    },
  };
}

/** Requests the load generator itself sent, so they can be taken out of the API server's counts. */
export type DriverRequests = Record<string, number>;

/**
 * The bench's pod load: creates pods as fast as the client allows (a fixed
 * number of requests in flight, no client-side throttle) or at a fixed rate,
 * and deletes them (default grace, as `kubectl delete` does).
 */
export class PodLoad {
  readonly #client: KubeRestClient;
  readonly #namespace: string;
  readonly #nodeName: string;
  readonly #inFlight: number;
  readonly #serviceAccountToken: boolean;
  readonly sent: DriverRequests = {};

  constructor(client: KubeRestClient, options: { namespace: string; nodeName: string; inFlight: number; serviceAccountToken?: boolean }) {
    this.#client = client;
    this.#namespace = options.namespace;
    this.#nodeName = options.nodeName;
    this.#inFlight = options.inFlight;
    this.#serviceAccountToken = options.serviceAccountToken ?? false;
  }

  /** Creates every pod, `inFlight` at a time; onCreated(name, ms) when each create returns. */
  async createAll(names: string[], onCreated: (name: string, atMs: number) => void): Promise<void> {
    await this.#pool(names, async (name) => {
      await this.#create(name);
      onCreated(name, Date.now());
    });
  }

  /** Creates `rate` pods a second for `seconds`, on a schedule that does not drift; returns the names. */
  async createAtRate(prefix: string, rate: number, seconds: number, onCreated: (name: string, atMs: number) => void): Promise<string[]> {
    const total = Math.round(rate * seconds);
    const names = Array.from({ length: total }, (_, i) => `${prefix}-${i}`);
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const name = names[i]!;
      pending.push(this.#create(name).then(() => onCreated(name, Date.now())));
    }
    await Promise.all(pending);
    return names;
  }

  /** Deletes every pod, `inFlight` at a time; onSent(name, ms) as each delete goes out. */
  async deleteAll(names: string[], onSent: (name: string, atMs: number) => void): Promise<void> {
    await this.#pool(names, async (name) => {
      this.#count('DELETE pods');
      onSent(name, Date.now());
      await this.#client.delete(`/api/v1/namespaces/${this.#namespace}/pods/${name}`);
    });
  }

  async #create(name: string): Promise<void> {
    this.#count('POST pods');
    await this.#client.create(`/api/v1/namespaces/${this.#namespace}/pods`, benchPod(name, this.#nodeName, this.#serviceAccountToken));
  }

  #count(key: string): void {
    this.sent[key] = (this.sent[key] ?? 0) + 1;
  }

  async #pool(names: string[], work: (name: string) => Promise<void>): Promise<void> {
    let next = 0;
    const lanes = Array.from({ length: Math.min(this.#inFlight, names.length) }, async () => {
      while (next < names.length) await work(names[next++]!);
    });
    await Promise.all(lanes);
  }
}
