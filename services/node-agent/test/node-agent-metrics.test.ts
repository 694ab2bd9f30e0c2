import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { NodeAgentMetrics } from '../src/node-agent-metrics.ts';

describe('node-agent metrics', () => {
  it('reports whether this replica leads on each scrape', async () => {
    const registry = new Registry();
    let leading = false;
    new NodeAgentMetrics(registry, { nodeNames: [], isLeader: () => leading });
    assert.match(await registry.metrics(), /^vk_leader_election_is_leader 0$/m);
    leading = true;
    assert.match(await registry.metrics(), /^vk_leader_election_is_leader 1$/m);
  });

  it('records the last renewTime of each configured node\'s Lease, and no other node', async () => {
    const registry = new Registry();
    const metrics = new NodeAgentMetrics(registry, { nodeNames: ['vn-1'], isLeader: () => true });
    metrics.leaseRenewed('vn-1', new Date('2026-03-01T10:00:00.000Z'));
    metrics.leaseRenewed('vn-1', new Date('2026-03-01T10:00:10.250Z'));
    metrics.leaseRenewed('not-ours', new Date('2026-03-01T10:00:10.000Z'));
    const text = await registry.metrics();
    assert.match(text, /^vk_node_lease_renew_timestamp_seconds\{node="vn-1"\} 1772359210.25$/m);
    assert.doesNotMatch(text, /not-ours/);
  });
});
