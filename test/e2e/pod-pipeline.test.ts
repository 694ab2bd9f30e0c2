import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const NODE = 'pp-node';
const NS = 'pp';
const running: ServiceProcess[] = [];

interface PodJson { metadata: { name: string; uid: string }; status: { phase?: string; reason?: string } }

async function podsOf(selector: string): Promise<PodJson[]> {
  return (await env.client.get<{ items: PodJson[] }>(`/api/v1/namespaces/${NS}/pods`, { query: { labelSelector: selector } })).items;
}

function providerPods(): number {
  return env.mock.backend.list(NODE).length;
}

describe('pod pipeline: watcher → Redis queue → pod-workers → mock provider → pod status', function () {
  this.timeout(180_000);

  before(async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'vk-pp-')), 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const common = ['--kubeconfig', env.controlPlane.kubeconfigPath, '--redis-url', env.redis.url, '--nodename', NODE, '--provider-config', cfg, '--health-port', '0'];
    running.push(ServiceProcess.start('node-agent', [...common, '--node-lease-renew-interval-seconds', '2', '--resync-interval-seconds', '10']));
    running.push(ServiceProcess.start('pod-worker', common), ServiceProcess.start('pod-worker', common));
    await env.kubectl('create', 'namespace', NS);
    await waitFor('node Ready', async () => (await env.kubectl('get', 'node', NODE, '--no-headers')).includes(' Ready '));
    await waitFor('default service account', () => env.kubectl('-n', NS, 'get', 'sa', 'default').then(() => true));
  });

  after(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  it('runs an nginx Deployment on the virtual node, scales it to 10 and to 0 leaving nothing in the provider', async () => {
    await env.client.create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            nodeSelector: { 'kubernetes.io/role': 'agent', 'kubernetes.io/hostname': NODE },
            tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }],
            containers: [{ name: 'nginx', image: 'nginx:1.27' }],
          },
        },
      },
    });
    const allRunning = (n: number) => async () => {
      const pods = await podsOf('app=web');
      return pods.length === n && pods.every((p) => p.status.phase === 'Running') && providerPods() === n;
    };
    await waitFor('1 pod Running', allRunning(1));
    await env.kubectl('-n', NS, 'scale', 'deployment', 'web', '--replicas=10');
    await waitFor('10 pods Running', allRunning(10), { timeoutMs: 60_000 });
    const wide = await env.kubectl('-n', NS, 'get', 'pods', '-l', 'app=web', '-o', 'wide', '--no-headers');
    assert.equal(wide.trim().split('\n').filter((l) => l.includes(' Running ') && l.includes(NODE)).length, 10);
    await env.kubectl('-n', NS, 'scale', 'deployment', 'web', '--replicas=0');
    await waitFor('all pods gone', async () => (await podsOf('app=web')).length === 0 && providerPods() === 0, { timeoutMs: 60_000 });
  });

  it('holds a pod whose mandatory ConfigMap is missing with a Warning Event, and starts it once the ConfigMap exists', async () => {
    await env.client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'needs-cm', labels: { app: 'needs-cm' } },
      spec: {
        nodeName: NODE,
        tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }],
        containers: [{ name: 'c', image: 'busybox', env: [{ name: 'COLOUR', valueFrom: { configMapKeyRef: { name: 'paint', key: 'colour' } } }] }],
      },
    });
    await waitFor('MandatoryConfigMapNotFound event', async () =>
      (await env.kubectl('-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=needs-cm', '-o', 'jsonpath={.items[*].reason}')).includes('MandatoryConfigMapNotFound'));
    assert.equal(env.mock.backend.list(NODE).filter((p) => p.spec.ref.name === 'needs-cm').length, 0, 'not created in the provider');
    await env.kubectl('-n', NS, 'create', 'configmap', 'paint', '--from-literal=colour=blue');
    await waitFor('pod Running', async () => (await podsOf('app=needs-cm'))[0]?.status.phase === 'Running', { timeoutMs: 60_000 });
    const created = env.mock.backend.list(NODE).find((p) => p.spec.ref.name === 'needs-cm');
    assert.equal(created?.spec.containers[0]?.env['COLOUR'], 'blue');
    await env.kubectl('-n', NS, 'delete', 'pod', 'needs-cm');
    await waitFor('gone from the provider', () => env.mock.backend.list(NODE).every((p) => p.spec.ref.name !== 'needs-cm'));
  });

  it('gives containers the kubelet\'s service variables: the API server\'s always, the namespace\'s Services unless enableServiceLinks is false', async () => {
    await env.kubectl('-n', NS, 'create', 'service', 'clusterip', 'redis-master', '--tcp=6379:6379');
    const clusterIP = (await env.kubectl('-n', NS, 'get', 'service', 'redis-master', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    const apiServerIP = (await env.kubectl('-n', 'default', 'get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    const spec = (links: boolean) => ({
      nodeName: NODE, enableServiceLinks: links, automountServiceAccountToken: false,
      tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }],
      containers: [{ name: 'c', image: 'busybox', env: [{ name: 'API', value: 'https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)' }, { name: 'REDIS_MASTER_SERVICE_PORT', value: 'mine' }] }],
    });
    for (const [name, links] of [['links', true], ['no-links', false]] as const) {
      await env.client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'svc-env' } }, spec: spec(links) });
    }
    const envOf = (name: string) => waitFor(`${name} created in the provider`, async () => env.mock.backend.list(NODE).find((p) => p.spec.ref.name === name)?.spec.containers[0]?.env);
    const withLinks = await envOf('links');
    assert.equal(withLinks.KUBERNETES_SERVICE_HOST, apiServerIP);
    assert.equal(withLinks.API, `https://${apiServerIP}:443`, '$(VAR) sees the service variables');
    assert.equal(withLinks.REDIS_MASTER_SERVICE_HOST, clusterIP);
    assert.equal(withLinks.REDIS_MASTER_PORT_6379_TCP, `tcp://${clusterIP}:6379`);
    assert.equal(withLinks.REDIS_MASTER_SERVICE_PORT, 'mine', 'the container\'s own variable wins');
    const noLinks = await envOf('no-links');
    assert.equal(noLinks.KUBERNETES_SERVICE_HOST, apiServerIP);
    assert.equal(noLinks.REDIS_MASTER_SERVICE_HOST, undefined);
    await env.kubectl('-n', NS, 'delete', 'pods', '-l', 'app=svc-env', '--wait=true');
  });

  it('removes a pod whose containers already exited right after deletion is requested, not after the grace period', async () => {
    await env.client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'quick-exit', labels: { app: 'quick-exit' } },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 120,
        tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }],
        containers: [{ name: 'c', image: 'busybox' }],
      },
    });
    const pod = await waitFor('pod Running', async () => { const p = (await podsOf('app=quick-exit'))[0]; return p?.status.phase === 'Running' ? p : undefined; });
    env.mock.backend.exitContainer({ namespace: NS, name: 'quick-exit', uid: pod.metadata.uid }, 'c', 0);
    const started = Date.now();
    await env.kubectl('-n', NS, 'delete', 'pod', 'quick-exit', '--wait=true');
    const took = Date.now() - started;
    assert.ok(took < 30_000, `deleted after ${took} ms with a 120 s grace period`);
    assert.equal(env.mock.backend.list(NODE).filter((p) => p.spec.ref.name === 'quick-exit').length, 0);
  });
});
