import { ErrorCodes, VkError, runListWatch, type KubeRestClient, type Logger } from '@vk-ts/core';

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

interface ServiceObject {
  metadata?: { namespace?: string; name?: string; resourceVersion?: string };
  spec?: { clusterIP?: string; ports?: ServicePort[] };
}

/** What the environment needs of a Service. */
export interface ServiceSummary {
  name: string;
  clusterIP: string;
  ports: ServicePort[];
}

/** How long after start() a pod may wait for the first list of Services (by default). */
const SYNC_WAIT_MS = 10_000;

/** Services of the default namespace whose variables every pod gets, enableServiceLinks or not (the kubelet's "master services"). */
const MASTER_SERVICES = new Set(['kubernetes']);

/**
 * The service environment variables the kubelet gives every container
 * (`KUBERNETES_SERVICE_HOST`, `<NAME>_SERVICE_PORT`, the Docker-link
 * `<NAME>_PORT_<port>_TCP…`), from one list+watch of the cluster's Services
 * (the kubelet's service informer; upstream virtual-kubelet does the same):
 * the `kubernetes` Service of the default namespace always, the Services of
 * the pod's namespace when `enableServiceLinks` is not false. In-cluster
 * clients (client-go, the Kubernetes client libraries) read
 * `KUBERNETES_SERVICE_HOST` and `_PORT` and fail without them.
 *
 * Until the first list arrives, a pod waits for it, up to `syncWaitMs`
 * (10 s) after `start()` (one deadline for the process, not a wait per pod: a
 * Services list that RBAC refuses must not hold every pass for seconds), then
 * fails with KUBE_API naming the list's last error and is retried, as the
 * kubelet refuses to start containers before its informer has synced: a pod
 * started without its variables would keep that environment for good.
 */
export class ServiceEnvironment {
  readonly #client: KubeRestClient;
  readonly #logger: Logger;
  readonly #byNamespace = new Map<string, Map<string, ServiceSummary>>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #synced = false;
  #onSynced: (() => void)[] = [];
  #syncDeadline = 0;
  #lastError: unknown;

  readonly #syncWaitMs: number;

  constructor(client: KubeRestClient, logger: Logger, options: { syncWaitMs?: number } = {}) {
    this.#client = client;
    this.#logger = logger.child({ component: 'service-environment' });
    this.#syncWaitMs = options.syncWaitMs ?? SYNC_WAIT_MS;
  }

  start(): void {
    if (this.#loop) return;
    this.#syncDeadline = Date.now() + this.#syncWaitMs;
    this.#loop = runListWatch<ServiceObject>({
      client: this.#client,
      path: '/api/v1/services',
      onList: (items) => {
        this.#byNamespace.clear();
        for (const s of items) this.#put(s);
        this.#synced = true;
        for (const wake of this.#onSynced.splice(0)) wake();
      },
      onEvent: (type, s) => {
        if (type === 'DELETED') this.#byNamespace.get(s.metadata?.namespace ?? '')?.delete(s.metadata?.name ?? '');
        else this.#put(s);
      },
      logger: this.#logger,
      signal: this.#abort.signal,
      onError: (err) => { this.#lastError = err; },
    });
  }

  /** True once the Services were listed. */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * The variables for a pod in `namespace`; before the first list, waits for
   * it until the sync deadline, then throws KUBE_API (the caller retries the pod).
   */
  async envFor(namespace: string, enableServiceLinks: boolean): Promise<Record<string, string>> {
    if (!this.#synced) await this.#whenSynced(this.#syncDeadline - Date.now());
    if (!this.#synced) {
      const why = this.#lastError === undefined ? 'no answer yet' : `the last list failed: ${(this.#lastError as Error).message}`;
      throw new VkError(ErrorCodes.KUBE_API, `the cluster's Services have not been listed (${why}), so the containers' service environment variables cannot be built; the pod-worker needs list and watch on services`);
    }
    const services = new Map<string, ServiceSummary>();
    for (const [name, s] of this.#byNamespace.get('default') ?? []) if (MASTER_SERVICES.has(name)) services.set(name, s);
    if (enableServiceLinks) for (const [name, s] of this.#byNamespace.get(namespace) ?? []) services.set(name, s);
    return serviceEnvVars([...services.values()]);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    for (const wake of this.#onSynced.splice(0)) wake();
    await this.#loop;
  }

  #whenSynced(maxWaitMs: number): Promise<void> {
    if (maxWaitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxWaitMs);
      const wake = (): void => done();
      this.#onSynced.push(wake);
      const onSynced = this.#onSynced;
      function done(): void {
        clearTimeout(timer);
        const i = onSynced.indexOf(wake);
        if (i >= 0) onSynced.splice(i, 1);
        resolve();
      }
    });
  }

  #put(s: ServiceObject): void {
    const namespace = s.metadata?.namespace ?? '';
    const name = s.metadata?.name ?? '';
    let services = this.#byNamespace.get(namespace);
    if (!services) this.#byNamespace.set(namespace, (services = new Map()));
    services.set(name, { name, clusterIP: s.spec?.clusterIP ?? '', ports: (s.spec?.ports ?? []).map(({ name: n, port, protocol }) => ({ name: n, port, protocol })) });
  }
}

/**
 * The kubelet's variables for these Services (its envvars.FromServices):
 * headless Services and those without a cluster IP or ports give none.
 */
export function serviceEnvVars(services: readonly ServiceSummary[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of services) {
    if (!s.clusterIP || s.clusterIP === 'None' || s.ports.length === 0) continue;
    const prefix = envName(s.name);
    env[`${prefix}_SERVICE_HOST`] = s.clusterIP;
    env[`${prefix}_SERVICE_PORT`] = String(s.ports[0]!.port);
    for (const p of s.ports) if (p.name) env[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    // The Docker-link variables.
    const host = s.clusterIP.includes(':') ? `[${s.clusterIP}]` : s.clusterIP;
    s.ports.forEach((p, i) => {
      const protocol = (p.protocol || 'TCP').toLowerCase();
      const url = `${protocol}://${host}:${p.port}`;
      if (i === 0) env[`${prefix}_PORT`] = url;
      const portPrefix = `${prefix}_PORT_${p.port}_${protocol.toUpperCase()}`;
      env[portPrefix] = url;
      env[`${portPrefix}_PROTO`] = protocol;
      env[`${portPrefix}_PORT`] = String(p.port);
      env[`${portPrefix}_ADDR`] = s.clusterIP;
    });
  }
  return env;
}

function envName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}
