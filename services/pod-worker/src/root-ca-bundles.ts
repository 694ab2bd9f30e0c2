import { runListWatch, type KubeRestClient, type Logger } from '@vk-ts/core';

/** The ConfigMap in which the cluster's root CA bundle is published into every namespace. */
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

/** A ConfigMap's entries as the API server sends them. */
export interface ConfigMapData {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

interface ConfigMapObject extends ConfigMapData {
  metadata?: { namespace?: string; resourceVersion?: string };
}

/**
 * Every namespace's copy of `kube-root-ca.crt` (kube-controller-manager's
 * root-ca-cert-publisher keeps one in each), from one list+watch of that
 * name across all namespaces.
 *
 * Why: every pod that mounts its ServiceAccount token references it (the
 * `kube-api-access-*` volume that the ServiceAccount admission plugin adds,
 * to a Deployment's pods by default), and reading it per pod was one GET
 * per pod, the only read of a burst (`npm run bench --
 * --service-account-token`). Like the kubelet's watch-based ConfigMap
 * manager, a pod gets the version the watch has brought. A namespace whose
 * copy the watch has not brought (yet) is not answered here: the caller
 * reads the API server, which also tells it apart from a missing one.
 */
export class RootCaBundles {
  readonly #client: KubeRestClient;
  readonly #logger: Logger;
  readonly #byNamespace = new Map<string, ConfigMapData>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(client: KubeRestClient, logger: Logger) {
    this.#client = client;
    this.#logger = logger.child({ component: 'root-ca-bundles' });
  }

  start(): void {
    this.#loop ??= runListWatch<ConfigMapObject>({
      client: this.#client,
      path: '/api/v1/configmaps',
      fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}`,
      onList: (items) => {
        this.#byNamespace.clear();
        for (const cm of items) this.#put(cm);
      },
      onEvent: (type, cm) => {
        if (type === 'DELETED') this.#byNamespace.delete(cm.metadata?.namespace ?? '');
        else this.#put(cm);
      },
      logger: this.#logger,
      signal: this.#abort.signal,
    });
  }

  /** The namespace's copy as the watch last brought it; undefined when it has not. */
  get(namespace: string): ConfigMapData | undefined {
    return this.#byNamespace.get(namespace);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  #put(cm: ConfigMapObject): void {
    this.#byNamespace.set(cm.metadata?.namespace ?? '', { data: cm.data, binaryData: cm.binaryData });
  }
}
