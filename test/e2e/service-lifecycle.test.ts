import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { V1Pod } from '@kubernetes/client-node';
import { POD_JOB_NAME, podJobOptions, podQueueName, type PodJobData } from '@vk-ts/core';
import { ServiceProcess, freePort, issueServingCert, tokenKubeconfig, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe('every service', () => {
  const cases: { name: 'node-agent' | 'pod-worker' | 'kubelet-api'; args: (port: number) => string[] | Promise<string[]> }[] = [
    {
      name: 'node-agent',
      args: (port) => {
        const cfg = join(mkdtempSync(join(tmpdir(), 'vk-svc-')), 'mock.toml');
        writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
        return ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', 'svc-lifecycle', '--provider-config', cfg, '--redis-url', env.redis.url, '--health-port', String(port)];
      },
    },
    {
      name: 'pod-worker',
      args: (port) => {
        const cfg = join(mkdtempSync(join(tmpdir(), 'vk-svc-')), 'mock.toml');
        writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
        return ['--kubeconfig', env.controlPlane.kubeconfigPath, '--redis-url', env.redis.url, '--nodename', 'svc-lifecycle', '--provider-config', cfg, '--health-port', String(port)];
      },
    },
    {
      name: 'kubelet-api',
      args: async (port) => {
        const dir = mkdtempSync(join(tmpdir(), 'vk-svc-'));
        const cfg = join(dir, 'mock.toml');
        writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
        const { cert, key } = await issueServingCert({ pkiDir: env.controlPlane.pkiDir, dir, nodeName: 'svc-lifecycle' });
        return ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', 'svc-lifecycle', '--provider-config', cfg,
          '--host', '127.0.0.1', '--port', String(await freePort()), '--tls-cert-file', cert, '--tls-key-file', key,
          '--health-port', String(port), '--health-host', '127.0.0.1'];
      },
    },
  ];

  for (const c of cases) {
    it(`${c.name} answers /healthz, /readyz and /metrics and exits 0 within 5 s of SIGTERM`, async () => {
      const port = await freePort();
      const svc = ServiceProcess.start(c.name, await c.args(port));
      try {
        const health = await waitFor(`${c.name} /healthz`, () => get(`http://127.0.0.1:${port}/healthz`));
        assert.equal(health.status, 200);
        await waitFor(`${c.name} /readyz`, async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200);
        const metrics = await get(`http://127.0.0.1:${port}/metrics`);
        assert.equal(metrics.status, 200);
        assert.match(metrics.body, /process_cpu_user_seconds_total/);
        const started = Date.now();
        svc.child.kill('SIGTERM');
        assert.equal(await svc.exited(), 0);
        assert.ok(Date.now() - started < 5000, `exited in ${Date.now() - started} ms`);
      } finally {
        await svc.stop();
      }
    });
  }

  it('pod-worker whose ServiceAccount may not list Services says so on /readyz and on the pod, which waits instead of starting without its variables', async () => {
    const node = 'svc-no-services';
    const cfg = join(mkdtempSync(join(tmpdir(), 'vk-svc-')), 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    // Everything a worker needs except services.
    await env.kubectl('create', 'serviceaccount', 'no-services');
    await env.kubectl('create', 'clusterrole', 'no-services', '--verb=get,list,watch,patch,delete,create', '--resource=pods,pods/status,configmaps,secrets,events');
    await env.kubectl('create', 'clusterrolebinding', 'no-services', '--clusterrole=no-services', '--serviceaccount=default:no-services');
    const kubeconfig = tokenKubeconfig(env.controlPlane.kubeconfigPath, (await env.kubectl('create', 'token', 'no-services')).trim());
    const port = await freePort();
    const worker = ServiceProcess.start('pod-worker', ['--kubeconfig', kubeconfig, '--redis-url', env.redis.url, '--nodename', node, '--provider-config', cfg, '--health-port', String(port), '--health-host', '127.0.0.1']);
    const connection = new Redis(env.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<PodJobData>(podQueueName(node), { connection });
    const pod = await env.client.create<V1Pod>('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'needs-services' },
      spec: { nodeName: node, automountServiceAccountToken: false, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }], containers: [{ name: 'c', image: 'busybox' }] },
    });
    try {
      await waitFor('/readyz naming services', async () => /not ready: services/.test((await get(`http://127.0.0.1:${port}/readyz`)).body));
      const data: PodJobData = { namespace: 'default', name: 'needs-services', uid: pod.metadata!.uid!, resourceVersion: pod.metadata!.resourceVersion!, op: 'create' };
      await queue.add(POD_JOB_NAME, data, podJobOptions(data));
      const held = await waitFor('the pod held with the reason', async () => {
        const p = await env.client.get<V1Pod>('/api/v1/namespaces/default/pods/needs-services');
        return p.status?.reason === 'CreateContainerConfigError' ? p : undefined;
      }, { timeoutMs: 30_000 });
      assert.equal(held.status!.phase, 'Pending');
      assert.match(held.status!.message!, /services is forbidden.*needs list and watch on services/);
      assert.equal(env.mock.backend.list(node).length, 0, 'not started without its variables');
    } finally {
      await worker.stop();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      await env.client.delete('/api/v1/namespaces/default/pods/needs-services', { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  });

  it('pod-worker given SIGTERM in the middle of a slow provider call finishes the pass before it exits 0', async () => {
    const node = 'svc-drain';
    const cfg = join(mkdtempSync(join(tmpdir(), 'vk-svc-')), 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const pod = await env.client.create<V1Pod>('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'drained' },
      spec: { nodeName: node, automountServiceAccountToken: false, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }], containers: [{ name: 'c', image: 'busybox' }] },
    });
    const connection = new Redis(env.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<PodJobData>(podQueueName(node), { connection });
    const worker = ServiceProcess.start('pod-worker', ['--kubeconfig', env.controlPlane.kubeconfigPath, '--redis-url', env.redis.url, '--nodename', node, '--provider-config', cfg, '--health-port', '0']);
    // A cloud API that takes longer to answer than the old 4 s drain allowed.
    env.mock.backend.setFaults({ callLatencyMs: 6000 });
    try {
      const data: PodJobData = { namespace: 'default', name: 'drained', uid: pod.metadata!.uid!, resourceVersion: pod.metadata!.resourceVersion!, op: 'create' };
      await queue.add(POD_JOB_NAME, data, podJobOptions(data));
      await waitFor('the pass under way', async () => (await queue.getActiveCount()) === 1, { intervalMs: 50 });
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited(), 0, worker.output.slice(-2000));
      const after = await env.client.get<V1Pod>('/api/v1/namespaces/default/pods/drained');
      assert.equal(after.status?.phase, 'Running', 'the pass in flight at SIGTERM wrote its status before the worker exited');
    } finally {
      env.mock.backend.setFaults({ callLatencyMs: 0 });
      await worker.stop();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      await env.client.delete('/api/v1/namespaces/default/pods/drained', { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 }).catch(() => undefined);
      env.mock.backend.delete({ namespace: 'default', name: 'drained', uid: pod.metadata!.uid! });
    }
  });
});
