import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { CONTROLPLANE_BINARY, ControlPlane, freePort, waitFor, waitForExit } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

describe('control plane test bed', () => {
  it('answers /readyz ok through kubectl', async () => {
    assert.equal((await env.kubectl('get', '--raw', '/readyz')).trim(), 'ok');
  });

  it('turns a Deployment of 3 replicas into a ReplicaSet and 3 Pending pods', async () => {
    await env.kubectl('create', 'namespace', 'cp-deploy');
    await waitFor('default service account', () => env.kubectl('-n', 'cp-deploy', 'get', 'sa', 'default').then(() => true));
    await env.kubectl('-n', 'cp-deploy', 'create', 'deployment', 'web', '--image=nginx', '--replicas=3');
    const rs = await waitFor('a ReplicaSet', async () => {
      const out = JSON.parse(await env.kubectl('-n', 'cp-deploy', 'get', 'rs', '-o', 'json')) as { items: { metadata: { name: string } }[] };
      return out.items[0]?.metadata.name;
    });
    assert.match(rs, /^web-/);
    const phases = await waitFor('3 pods', async () => {
      const out = JSON.parse(await env.kubectl('-n', 'cp-deploy', 'get', 'pods', '-o', 'json')) as { items: { status: { phase: string } }[] };
      return out.items.length === 3 ? out.items.map((p) => p.status.phase) : undefined;
    });
    assert.deepEqual(phases, ['Pending', 'Pending', 'Pending']);
    await env.kubectl('delete', 'namespace', 'cp-deploy', '--wait=false');
  });

  it('binds a pod that tolerates a node\'s taint to a Node created with @kubernetes/client-node', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(env.controlPlane.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const node: V1Node = {
      metadata: { name: 'cp-test-node', labels: { 'cp-test': 'yes' } },
      spec: { taints: [{ key: 'cp-test', value: 'x', effect: 'NoSchedule' }] },
    };
    await core.createNode({ body: node });
    // A node without a kubelet has no status: post one so the scheduler sees room on it.
    await env.client.patch('/api/v1/nodes/cp-test-node/status', {
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '10' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '10' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'Test', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
      },
    }, 'application/strategic-merge-patch+json');
    await waitFor('default service account', () => core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }).then(() => true));
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'cp-tolerating' },
        spec: {
          nodeSelector: { 'cp-test': 'yes' },
          tolerations: [{ key: 'cp-test', operator: 'Exists' }],
          containers: [{ name: 'c', image: 'nginx' }],
        },
      },
    });
    const boundTo = await waitFor('the pod to be bound', async () => (await core.readNamespacedPod({ name: 'cp-tolerating', namespace: 'default' })).spec?.nodeName);
    assert.equal(boundTo, 'cp-test-node');
    await core.deleteNamespacedPod({ name: 'cp-tolerating', namespace: 'default', gracePeriodSeconds: 0 });
    await core.deleteNode({ name: 'cp-test-node' });
  });

  it('refuses to start a second time on the same ports with a clear message, at once', async () => {
    const port = new URL(env.controlPlane.server).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'vk-cp-dup-'));
    try {
      const child = spawn(CONTROLPLANE_BINARY, [
        '--data-dir', dataDir, '--apiserver-port', port,
        '--etcd-client-port', String(await freePort()), '--etcd-peer-port', String(await freePort()),
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      const started = Date.now();
      const code = await waitForExit(child);
      assert.equal(code, 2);
      assert.match(stderr, new RegExp(`port 127\\.0\\.0\\.1:${port} .*already in use`));
      assert.ok(Date.now() - started < 10_000, 'it fails fast instead of hanging');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a --pprof-addr that is not loopback, or that takes another component\'s port, with exit 2 and a message', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vk-cp-pprof-'));
    const run = async (pprofAddr: (etcdPort: number) => string): Promise<{ code: Awaited<ReturnType<typeof waitForExit>>; stderr: string }> => {
      const etcdPort = await freePort();
      const child = spawn(CONTROLPLANE_BINARY, [
        '--data-dir', dataDir, '--apiserver-port', String(await freePort()),
        '--etcd-client-port', String(etcdPort), '--etcd-peer-port', String(await freePort()), '--pprof-addr', pprofAddr(etcdPort),
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      return { code: await waitForExit(child), stderr };
    };
    try {
      const open = await run(() => '0.0.0.0:6060');
      assert.equal(open.code, 2);
      assert.match(open.stderr, /--pprof-addr "0\.0\.0\.0:6060": the host must be a loopback IP address/);
      const clash = await run((etcdPort) => `127.0.0.1:${etcdPort}`);
      assert.equal(clash.code, 2);
      assert.match(clash.stderr, /is given for both etcd client and --pprof-addr/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serves Go\'s pprof handlers on loopback when started with pprof (what the benchmark profiles)', async () => {
    const cp = await ControlPlane.start({ pprof: true });
    try {
      assert.match(cp.pprofUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${cp.pprofUrl}/debug/pprof/cmdline`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /--pprof-addr/);
    } finally {
      await cp.close();
    }
  });
});
