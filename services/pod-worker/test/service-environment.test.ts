import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeRestClient, createLogger } from '@vk-ts/core';
import { ServiceEnvironment, serviceEnvVars } from '../src/service-environment.ts';

describe('service environment variables', () => {
  it('are the kubelet\'s: host, first port, named ports and the Docker-link variables per port', () => {
    assert.deepEqual(serviceEnvVars([
      { name: 'redis-master', clusterIP: '10.0.0.11', ports: [{ port: 6379 }, { name: 'metrics-http', port: 9121, protocol: 'TCP' }] },
    ]), {
      REDIS_MASTER_SERVICE_HOST: '10.0.0.11',
      REDIS_MASTER_SERVICE_PORT: '6379',
      REDIS_MASTER_SERVICE_PORT_METRICS_HTTP: '9121',
      REDIS_MASTER_PORT: 'tcp://10.0.0.11:6379',
      REDIS_MASTER_PORT_6379_TCP: 'tcp://10.0.0.11:6379',
      REDIS_MASTER_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_MASTER_PORT_6379_TCP_PORT: '6379',
      REDIS_MASTER_PORT_6379_TCP_ADDR: '10.0.0.11',
      REDIS_MASTER_PORT_9121_TCP: 'tcp://10.0.0.11:9121',
      REDIS_MASTER_PORT_9121_TCP_PROTO: 'tcp',
      REDIS_MASTER_PORT_9121_TCP_PORT: '9121',
      REDIS_MASTER_PORT_9121_TCP_ADDR: '10.0.0.11',
    });
  });

  it('skip headless Services and those without a cluster IP, and bracket IPv6 addresses in URLs', () => {
    const env = serviceEnvVars([
      { name: 'headless', clusterIP: 'None', ports: [{ port: 80 }] },
      { name: 'external', clusterIP: '', ports: [{ port: 80 }] },
      { name: 'dns', clusterIP: 'fd00::a', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
    ]);
    assert.equal(Object.keys(env).some((k) => k.startsWith('HEADLESS') || k.startsWith('EXTERNAL')), false);
    assert.equal(env.DNS_SERVICE_HOST, 'fd00::a');
    assert.equal(env.DNS_PORT, 'udp://[fd00::a]:53');
    assert.equal(env.DNS_PORT_53_UDP_ADDR, 'fd00::a');
  });
});

describe('the service environment source', () => {
  let server: Server | undefined;
  let client: KubeRestClient | undefined;
  let services: ServiceEnvironment | undefined;
  afterEach(async () => {
    await services?.close();
    client?.close();
    server?.closeAllConnections();
    server?.close();
    server = client = services = undefined;
  });

  /** An API server stand-in on loopback answering the Services list with `answer`. */
  async function start(answer: (res: ServerResponse) => void): Promise<ServiceEnvironment> {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/services') && !req.url.includes('watch=')) answer(res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = await KubeRestClient.create({
      kubeConfig: { getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} },
      qps: 0, burst: 0, userAgent: 'test',
    });
    services = new ServiceEnvironment(client, createLogger({ service: 'test', level: 'silent' }), { syncWaitMs: 300 });
    services.start();
    return services;
  }

  it('refuses pods with the list\'s own error once its sync wait is over, and at once after that', async () => {
    const env = await start((res) => res.writeHead(403, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'Status', code: 403, message: 'services is forbidden: User "system:serviceaccount:vk:pod-worker" cannot list resource "services"' })));
    await assert.rejects(env.envFor('ns', true), (err: Error & { code?: string }) =>
      err.code === 'VK_ERR_KUBE_API' && /services is forbidden/.test(err.message) && /needs list and watch on services/.test(err.message));
    const again = Date.now();
    await assert.rejects(env.envFor('ns', true), /services is forbidden/);
    assert.ok(Date.now() - again < 100, 'no second wait: one sync deadline per process');
  });

  it('answers the kubernetes Service always and the namespace\'s only with service links', async () => {
    const item = (namespace: string, name: string, clusterIP: string, port: number) => ({ metadata: { namespace, name, resourceVersion: '5' }, spec: { clusterIP, ports: [{ port }] } });
    const env = await start((res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      metadata: { resourceVersion: '5' },
      items: [item('default', 'kubernetes', '10.0.0.1', 443), item('default', 'other', '10.0.0.2', 80), item('ns', 'db', '10.0.0.3', 5432)],
    })));
    const linked = await env.envFor('ns', true);
    assert.equal(linked.KUBERNETES_SERVICE_HOST, '10.0.0.1');
    assert.equal(linked.DB_SERVICE_HOST, '10.0.0.3');
    assert.equal(linked.OTHER_SERVICE_HOST, undefined, 'another namespace\'s Service');
    const unlinked = await env.envFor('ns', false);
    assert.equal(unlinked.KUBERNETES_SERVICE_PORT, '443');
    assert.equal(unlinked.DB_SERVICE_HOST, undefined);
  });
});
