import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { KubeRestClient } from '@vk-ts/core';
import { NodeAgentMetrics } from '../src/node-agent-metrics.ts';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

describe('node-agent metrics', () => {
  let server: Server | undefined;
  afterEach(() => { server?.closeAllConnections(); server?.close(); server = undefined; });

  it('reports whether this replica leads on each scrape', async () => {
    const registry = new Registry();
    let leading = false;
    new NodeAgentMetrics(registry, { nodeNames: [], isLeader: () => leading });
    assert.match(await registry.metrics(), /^vk_leader_election_is_leader 0$/m);
    leading = true;
    assert.match(await registry.metrics(), /^vk_leader_election_is_leader 1$/m);
  });

  it('records the renewTime of each node Lease written through the client, for configured nodes only', async () => {
    // An API server stand-in that answers every write with the object sent.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        res.writeHead(req.method === 'GET' ? 404 : 200, { 'content-type': 'application/json' });
        res.end(req.method === 'GET' ? JSON.stringify({ kind: 'Status', code: 404 }) : body);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = await KubeRestClient.create({
      kubeConfig: { getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} },
      qps: 0, burst: 0, userAgent: 'test',
    });
    const registry = new Registry();
    const observed = new NodeAgentMetrics(registry, { nodeNames: ['vn-1'], isLeader: () => true }).observeLeaseWrites(client);
    const lease = (name: string, renewTime: string) => ({ metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, renewTime } });
    await observed.create(LEASES, lease('vn-1', '2026-03-01T10:00:00.000000Z'));
    await observed.replace(`${LEASES}/vn-1`, lease('vn-1', '2026-03-01T10:00:10.250000Z'));
    await observed.replace(`${LEASES}/not-ours`, lease('not-ours', '2026-03-01T10:00:10.000000Z'));
    await observed.replace('/apis/coordination.k8s.io/v1/namespaces/vk/leases/vn-1', lease('vn-1', '2026-03-01T11:00:00.000000Z'));
    await assert.rejects(observed.get(`${LEASES}/vn-1`), { statusCode: 404 });
    const text = await registry.metrics();
    assert.match(text, /^vk_node_lease_renew_timestamp_seconds\{node="vn-1"\} 1772359210.25$/m);
    assert.doesNotMatch(text, /not-ours/);
    assert.equal(observed.server.href, client.server.href, 'everything else is the client itself');
    client.close();
  });
});
