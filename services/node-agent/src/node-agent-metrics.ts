import { Gauge, type Registry } from 'prom-client';
import type { KubeRestClient } from '@vk-ts/core';

const NODE_LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

export interface NodeAgentMetricsOptions {
  /** The configured nodes: the only values of the `node` label. */
  nodeNames: string[];
  /** Read on each scrape. */
  isLeader: () => boolean;
}

interface LeaseLike {
  metadata?: { name?: string };
  spec?: { renewTime?: string };
}

/**
 * The node-agent's own metrics:
 *
 * - `vk_leader_election_is_leader`: 1 while this replica leads (always 1
 *   without leader election), 0 on a standby; read on scrape.
 * - `vk_node_lease_renew_timestamp_seconds{node}`: the renewTime of the last
 *   node Lease write that succeeded, per configured node. `time() - it`
 *   above the lease duration means the node lifecycle controller is about to
 *   mark the node NotReady.
 */
export class NodeAgentMetrics {
  readonly #renewed: Gauge<'node'>;
  readonly #nodes: ReadonlySet<string>;

  constructor(registry: Registry, options: NodeAgentMetricsOptions) {
    this.#nodes = new Set(options.nodeNames);
    const { isLeader } = options;
    new Gauge({
      name: 'vk_leader_election_is_leader', help: '1 while this node-agent replica leads (always without leader election), 0 on a standby',
      registers: [registry],
      collect() { this.set(isLeader() ? 1 : 0); },
    });
    this.#renewed = new Gauge({
      name: 'vk_node_lease_renew_timestamp_seconds', help: 'Unix time of the last successful renewal of the node\'s Lease in kube-node-lease',
      labelNames: ['node'], registers: [registry],
    });
  }

  /**
   * `client` as the node controllers use it: every node Lease it creates or
   * replaces successfully is recorded. (A view of the client, so the
   * controllers need no metrics of their own; every other call goes through
   * unchanged.)
   */
  observeLeaseWrites(client: KubeRestClient): KubeRestClient {
    const record = (path: string, result: unknown): void => {
      if (!path.startsWith(NODE_LEASES)) return;
      const lease = result as LeaseLike | undefined;
      const node = lease?.metadata?.name;
      if (node === undefined || !this.#nodes.has(node)) return;
      const renewedMs = Date.parse(lease?.spec?.renewTime ?? '');
      this.#renewed.set({ node }, (Number.isNaN(renewedMs) ? Date.now() : renewedMs) / 1000);
    };
    return new Proxy(client, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        if (prop !== 'create' && prop !== 'replace') return value.bind(target);
        return async (path: string, ...rest: unknown[]) => {
          const result: unknown = await (value as (path: string, ...rest: unknown[]) => Promise<unknown>).call(target, path, ...rest);
          record(path, result);
          return result;
        };
      },
    });
  }
}
