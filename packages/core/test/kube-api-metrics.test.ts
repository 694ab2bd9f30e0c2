import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { KubeRestClient } from '../src/index.ts';

/** The value of one sample of `name` whose labels include `labels` (undefined when none). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''));
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => ((v as { metricName?: string }).metricName ?? name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

function clientOf(port: number, registry: Registry, requestTimeoutMs?: number): Promise<KubeRestClient> {
  return KubeRestClient.create({
    kubeConfig: { getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} },
    qps: 0, burst: 0, userAgent: 'test', registry, requestTimeoutMs,
  });
}

async function listen(handler: RequestListener): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

describe('Kubernetes API client metrics', () => {
  let server: Server | undefined;
  afterEach(() => { server?.closeAllConnections(); server?.close(); server = undefined; });

  it('counts a refused connection as code "<error>" and times it', async () => {
    const closed = await listen(() => undefined);
    const port = portOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    const registry = new Registry();
    const client = await clientOf(port, registry);
    await assert.rejects(client.get('/api/v1/nodes/n1'), /ECONNREFUSED/);
    assert.equal(await sample(registry, 'vk_kube_api_requests_total', { verb: 'GET', code: '<error>' }), 1);
    assert.equal(await sample(registry, 'vk_kube_api_request_duration_seconds_count', { verb: 'GET' }), 1);
    client.close();
  });

  it('counts a request the server never answers as "<error>" once its timeout passes', async () => {
    server = await listen(() => { /* never answers */ });
    const registry = new Registry();
    const client = await clientOf(portOf(server), registry, 200);
    await assert.rejects(client.create('/api/v1/namespaces/ns/events', {}), /timed out after 200 ms/);
    assert.equal(await sample(registry, 'vk_kube_api_requests_total', { verb: 'POST', code: '<error>' }), 1);
    const seconds = await sample(registry, 'vk_kube_api_request_duration_seconds_sum', { verb: 'POST' });
    assert.ok(seconds !== undefined && seconds >= 0.19, `observed ${seconds} s`);
    client.close();
  });

  it('counts answers by HTTP code and times each, but never a watch\'s stream', async () => {
    server = await listen((req, res) => {
      if (req.url?.includes('watch=true')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } })}\n`);
        return;
      }
      res.writeHead(req.url === '/api/v1/nodes/missing' ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ metadata: { name: 'n1' } }));
    });
    const registry = new Registry();
    const client = await clientOf(portOf(server), registry);
    await client.get('/api/v1/nodes/n1');
    await assert.rejects(client.get('/api/v1/nodes/missing'));
    await client.watch('/api/v1/pods', {}, () => undefined, new AbortController().signal);
    assert.equal(await sample(registry, 'vk_kube_api_requests_total', { verb: 'GET', code: '200' }), 1);
    assert.equal(await sample(registry, 'vk_kube_api_requests_total', { verb: 'GET', code: '404' }), 1);
    assert.equal(await sample(registry, 'vk_kube_api_requests_total', { verb: 'WATCH', code: '200' }), 1);
    assert.equal(await sample(registry, 'vk_kube_api_request_duration_seconds_count', { verb: 'GET' }), 2);
    assert.equal(await sample(registry, 'vk_kube_api_request_duration_seconds_count', { verb: 'WATCH' }), undefined);
    client.close();
  });

  it('lets two clients share one registry', async () => {
    const registry = new Registry();
    const a = await clientOf(1, registry);
    const b = await clientOf(1, registry);
    a.close();
    b.close();
  });
});
