import { Gauge, type Registry } from 'prom-client';

export interface NodeAgentMetricsOptions {
  /** The configured nodes: the only values of the `node` label. */
  nodeNames: string[];
  /** Read on each scrape. */
  isLeader: () => boolean;
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

  /** A node's Lease was written with this renewTime (the node controller's onLeaseRenewed). */
  leaseRenewed(node: string, renewTime: Date): void {
    if (this.#nodes.has(node)) this.#renewed.set({ node }, renewTime.getTime() / 1000);
  }
}
