import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer, ServiceProcess, freePort, tokenKubeconfig, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';
import { isKubeNotFound } from '@vk-ts/core';

interface Condition { type: string; status: string; lastTransitionTime: string; lastHeartbeatTime: string }
interface NodeJson {
  metadata: { uid: string; labels: Record<string, string> };
  spec: { taints?: { key: string; value?: string; effect: string }[] };
  status: {
    conditions?: Condition[];
    capacity?: Record<string, string>;
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port: number } };
    nodeInfo?: { kubeletVersion: string; operatingSystem: string };
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'vk-node-agent-'));
const running: ServiceProcess[] = [];

function providerConfig(extra = ''): string {
  const path = join(tmp, `mock-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, `endpoint = "${env.mockUrl}"\ncpu = "8"\nmemory = "32Gi"\npods = "500"\n${extra}`);
  return path;
}

/** A node-agent with fast heartbeats (1 s lease renewals, 4 s leases) so that tests take seconds. */
function startAgent(nodename: string, extraArgs: string[] = []): ServiceProcess {
  const agent = ServiceProcess.start('node-agent', [
    '--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', nodename,
    '--provider-config', providerConfig(), '--kubelet-port', '10777', '--internal-ip', '127.0.0.1',
    '--node-lease-duration-seconds', '4', '--node-lease-renew-interval-seconds', '1',
    '--node-status-update-interval-seconds', '5', '--health-port', '0', '--redis-url', env.redis.url, ...extraArgs,
  ]);
  running.push(agent);
  return agent;
}

async function getNode(name: string): Promise<NodeJson | undefined> {
  return env.client.get<NodeJson>(`/api/v1/nodes/${name}`).catch(() => undefined);
}

function ready(node: NodeJson | undefined): string | undefined {
  return node?.status.conditions?.find((c) => c.type === 'Ready')?.status;
}

describe('node-agent', function () {
  this.timeout(120_000);
  afterEach(async () => {
    await Promise.all(running.splice(0).map((a) => a.stop()));
    env.mock.backend.setFaults({ healthy: true });
  });

  it('registers a Ready node within 5 s with the labels, taint, capacity, addresses, port and version configured', async () => {
    const started = Date.now();
    startAgent('na-basic', ['--node-labels', 'team=blue']);
    const node = await waitFor('node Ready', async () => { const n = await getNode('na-basic'); return ready(n) === 'True' ? n : undefined; }, { intervalMs: 100 });
    assert.ok(Date.now() - started < 5000, `Ready after ${Date.now() - started} ms`);
    assert.equal(node.metadata.labels['type'], 'virtual-kubelet');
    assert.equal(node.metadata.labels['kubernetes.io/role'], 'agent');
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'na-basic');
    assert.equal(node.metadata.labels['kubernetes.io/os'], 'linux');
    assert.equal(node.metadata.labels['node.kubernetes.io/exclude-from-external-load-balancers'], 'true');
    assert.equal(node.metadata.labels['team'], 'blue');
    assert.deepEqual(node.spec.taints?.filter((t) => t.key === 'virtual-kubelet.io/provider'), [{ key: 'virtual-kubelet.io/provider', value: 'mock', effect: 'NoSchedule' }]);
    // The lifecycle controller puts node.kubernetes.io/not-ready on a new node until it sees it Ready.
    await waitFor('not-ready taint removed', async () => !(await getNode('na-basic'))?.spec.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready'));
    assert.deepEqual(node.status.capacity, { cpu: '8', memory: '32Gi', pods: '500', 'ephemeral-storage': '100Gi' });
    assert.deepEqual(node.status.addresses, [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'na-basic' }]);
    assert.equal(node.status.daemonEndpoints?.kubeletEndpoint?.Port, 10777);
    assert.match(node.status.nodeInfo!.kubeletVersion, /^v1\.37\.\d+-vk-ts-/);
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable']) {
      assert.ok(node.status.conditions!.some((c) => c.type === type), `condition ${type}`);
    }
    const wide = await env.kubectl('get', 'node', 'na-basic', '-o', 'wide', '--no-headers');
    assert.match(wide, /na-basic\s+Ready\s+agent\s+\S+\s+v1\.37\.\d+-vk-ts-/);
  });

  it('renews its Lease every interval; stopped, the node goes NotReady; restarted, Ready again with a new transition time', async () => {
    const agent = startAgent('na-lease');
    await waitFor('node Ready', async () => ready(await getNode('na-lease')) === 'True');
    // The Lease is written by its own loop, so it may appear a moment after the node is Ready.
    const renewTime = async () => {
      try {
        return (await env.client.get<{ spec: { renewTime: string } }>('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/na-lease')).spec.renewTime;
      } catch (err) {
        if (isKubeNotFound(err)) return undefined;
        throw err;
      }
    };
    const first = await waitFor('lease created', renewTime);
    await waitFor('lease renewed', async () => { const t = await renewTime(); return t !== undefined && t !== first; }, { timeoutMs: 5000 });
    const readyBefore = (await getNode('na-lease'))!.status.conditions!.find((c) => c.type === 'Ready')!;

    await agent.stop();
    await waitFor('node NotReady', async () => ready(await getNode('na-lease')) === 'Unknown', { timeoutMs: 60_000 });

    startAgent('na-lease');
    const readyAfter = await waitFor('node Ready again', async () => {
      const c = (await getNode('na-lease'))?.status.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'True' ? c : undefined;
    });
    assert.notEqual(readyAfter.lastTransitionTime, readyBefore.lastTransitionTime);
  });

  it('keeps renewing its Lease, so the node stays Ready, once the API server refuses its status writes', async () => {
    // A ServiceAccount that may register the Node and renew its Lease; its right to write nodes/status is taken away below.
    await env.kubectl('create', 'serviceaccount', 'na-no-status');
    await env.kubectl('create', 'clusterrole', 'na-node', '--verb=get,list,watch,create,patch,update', '--resource=nodes,leases.coordination.k8s.io,events');
    await env.kubectl('create', 'clusterrole', 'na-node-status', '--verb=patch,update', '--resource=nodes/status');
    await env.kubectl('create', 'clusterrolebinding', 'na-node', '--clusterrole=na-node', '--serviceaccount=default:na-no-status');
    await env.kubectl('create', 'clusterrolebinding', 'na-node-status', '--clusterrole=na-node-status', '--serviceaccount=default:na-no-status');
    const kubeconfig = tokenKubeconfig(env.controlPlane.kubeconfigPath, (await env.kubectl('create', 'token', 'na-no-status')).trim());
    const agent = startAgent('na-no-status', ['--kubeconfig', kubeconfig, '--no-pod-watcher', '--node-status-update-interval-seconds', '1']);
    await waitFor('node Ready', async () => ready(await getNode('na-no-status')) === 'True');

    await env.kubectl('delete', 'clusterrolebinding', 'na-node-status');
    await agent.waitForOutput(/cannot write the node status; renewing the Lease anyway/);
    const refusedSince = Date.now();
    // Past the control plane's node monitor grace period (8 s) after the first refusal, the Lease still moves and the node is Ready.
    await waitFor('the Lease renewed past the grace period', async () => {
      const lease = await env.client.get<{ spec: { renewTime: string } }>('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/na-no-status');
      return Date.parse(lease.spec.renewTime) > refusedSince + 10_000;
    }, { timeoutMs: 30_000 });
    assert.equal(ready(await getNode('na-no-status')), 'True');
    assert.match(agent.output, /cannot patch resource \\"nodes\/status\\"/, 'the log line carries the API server\'s answer');
  });

  it('keeps the Ready transition time while the status does not change', async () => {
    startAgent('na-transition');
    const t0 = await waitFor('node Ready', async () => {
      const c = (await getNode('na-transition'))?.status.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'True' ? c : undefined;
    });
    const t1 = await waitFor('a later heartbeat', async () => {
      const c = (await getNode('na-transition'))?.status.conditions?.find((x) => x.type === 'Ready');
      return c && c.lastHeartbeatTime !== t0.lastHeartbeatTime ? c : undefined;
    }, { timeoutMs: 15_000 });
    assert.equal(t1.lastTransitionTime, t0.lastTransitionTime);
  });

  it('restarted with other settings, keeps the taints and labels users added and takes back only what it applied before', async () => {
    const taintsOf = async () => ((await getNode('na-meta'))?.spec.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/not-ready');
    const agent = startAgent('na-meta', ['--node-labels', 'team=blue,tier=burst', '--provider-config', providerConfig('"nvidia.com/gpu" = "1"\n')]);
    await waitFor('node Ready', async () => ready(await getNode('na-meta')) === 'True');
    await env.kubectl('taint', 'node', 'na-meta', 'dedicated=gpu:NoSchedule');
    await env.kubectl('label', 'node', 'na-meta', 'owner=me');
    await agent.stop();

    startAgent('na-meta', ['--node-labels', 'team=green', '--taint', 'example.com/burst=yes:NoExecute']);
    const node = await waitFor('the new settings applied', async () => {
      const n = await getNode('na-meta');
      return n?.metadata.labels.team === 'green' && n.status.capacity?.['nvidia.com/gpu'] === undefined ? n : undefined;
    }, { timeoutMs: 15_000 });
    assert.equal(node.metadata.labels.owner, 'me', 'a user\'s label stays');
    assert.equal(node.metadata.labels.tier, undefined, 'a label the settings no longer ask for is removed');
    assert.equal(node.status.capacity?.cpu, '8');
    assert.deepEqual(await taintsOf(), [
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { key: 'example.com/burst', value: 'yes', effect: 'NoExecute' },
    ], 'the user\'s taint stays, ours is replaced');

    // A user takes our taint off: a later start does not put it back (the kubelet applies taints at registration).
    await env.kubectl('taint', 'node', 'na-meta', 'example.com/burst:NoExecute-');
    await Promise.all(running.splice(0).map((a) => a.stop()));
    const again = startAgent('na-meta', ['--node-labels', 'team=green', '--taint', 'example.com/burst=yes:NoExecute']);
    await again.waitForOutput(/node already registered/);
    await waitFor('node Ready', async () => ready(await getNode('na-meta')) === 'True');
    assert.deepEqual(await taintsOf(), [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
    await waitFor('a Starting event at every start', async () => {
      const starts = await env.kubectl('get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=na-meta,reason=Starting', '-o', 'name');
      return starts.trim().split('\n').length === 3;
    });
  });

  it('writes Ready back at once, with a new transition time, when the node was marked Unknown behind its back', async () => {
    startAgent('na-unknown', ['--node-status-update-interval-seconds', '60']);
    const before = await waitFor('node Ready', async () => {
      const c = (await getNode('na-unknown'))?.status.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'True' ? c : undefined;
    });
    // Transition times have whole seconds: a new one is only told apart in a later second.
    await waitFor('a second later than the Ready transition', async () => Date.now() >= Date.parse(before.lastTransitionTime) + 1000, { intervalMs: 50 });
    // What the node lifecycle controller writes when a Lease lapsed (e.g. the API server was out of reach for a while).
    await env.kubectl('patch', 'node', 'na-unknown', '--subresource=status', '--type=strategic', '-p',
      JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }] } }));
    const patchedAt = Date.now();
    const after = await waitFor('Ready again', async () => {
      const c = (await getNode('na-unknown'))?.status.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'True' ? c : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.ok(Date.now() - patchedAt < 5000, `Ready again after ${Date.now() - patchedAt} ms, not at the next 60 s status update`);
    assert.notEqual(after.lastTransitionTime, before.lastTransitionTime);
    await waitFor('a second NodeReady event', async () => {
      const out = await env.kubectl('get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=na-unknown,reason=NodeReady', '-o', 'jsonpath={.items[*].count}');
      return out.trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0) >= 2;
    });
  });

  it('goes NotReady while the provider health check fails and Ready when it recovers', async () => {
    startAgent('na-health');
    await waitFor('node Ready', async () => ready(await getNode('na-health')) === 'True');
    env.mock.backend.setFaults({ healthy: false });
    await waitFor('node NotReady', async () => ready(await getNode('na-health')) === 'Unknown', { timeoutMs: 60_000 });
    env.mock.backend.setFaults({ healthy: true });
    await waitFor('node Ready again', async () => ready(await getNode('na-health')) === 'True', { timeoutMs: 15_000 });
  });

  it('re-creates a deleted Node object, with a new UID, within one heartbeat interval', async () => {
    startAgent('na-delete');
    const before = await waitFor('node Ready', async () => { const n = await getNode('na-delete'); return ready(n) === 'True' ? n : undefined; });
    await env.kubectl('delete', 'node', 'na-delete', '--wait=true');
    const deletedAt = Date.now();
    const after = await waitFor('node back', async () => { const n = await getNode('na-delete'); return n && n.metadata.uid !== before.metadata.uid ? n : undefined; }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.notEqual(after.metadata.uid, before.metadata.uid);
    assert.ok(Date.now() - deletedAt < 2000, `back after ${Date.now() - deletedAt} ms (interval 1 s)`);
  });

  it('serves two nodes with different operating systems from one process', async () => {
    const cfg = join(tmp, 'two-nodes.toml');
    const pc = providerConfig();
    writeFileSync(cfg, [
      '[[nodes]]', 'name = "na-linux"', 'os = "Linux"', `provider-config = "${pc}"`, '',
      '[[nodes]]', 'name = "na-windows"', 'os = "Windows"', `provider-config = "${pc}"`, 'labels = { flavour = "win" }', '',
    ].join('\n'));
    startAgent('ignored', ['--config', cfg]);
    const linux = await waitFor('linux node Ready', async () => { const n = await getNode('na-linux'); return ready(n) === 'True' ? n : undefined; });
    const windows = await waitFor('windows node Ready', async () => { const n = await getNode('na-windows'); return ready(n) === 'True' ? n : undefined; });
    assert.equal(linux.metadata.labels['kubernetes.io/os'], 'linux');
    assert.equal(windows.metadata.labels['kubernetes.io/os'], 'windows');
    assert.equal(windows.metadata.labels['flavour'], 'win');
  });

  it('lets the scheduler bind a pod that tolerates the taint and selects the node, and never one that does not', async () => {
    startAgent('na-sched', ['--node-labels', 'na-sched=yes']);
    await waitFor('node Ready', async () => ready(await getNode('na-sched')) === 'True');
    await waitFor('default service account', () => env.kubectl('get', 'sa', 'default').then(() => true));
    const pod = (name: string, tolerate: boolean) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: {
        nodeSelector: { 'na-sched': 'yes' },
        tolerations: tolerate ? [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }] : [],
        containers: [{ name: 'c', image: 'nginx' }],
      },
    });
    await env.client.create('/api/v1/namespaces/default/pods', pod('na-tolerating', true));
    await env.client.create('/api/v1/namespaces/default/pods', pod('na-intolerant', false));
    const bound = await waitFor('tolerating pod bound', async () => (await env.client.get<{ spec: { nodeName?: string } }>('/api/v1/namespaces/default/pods/na-tolerating')).spec.nodeName);
    assert.equal(bound, 'na-sched');
    const intolerant = await waitFor('intolerant pod marked unschedulable', async () => {
      const p = await env.client.get<{ spec: { nodeName?: string }; status: { conditions?: { type: string; reason?: string }[] } }>('/api/v1/namespaces/default/pods/na-intolerant');
      return p.spec.nodeName !== undefined || p.status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason) ? p : undefined;
    });
    assert.equal(intolerant.spec.nodeName, undefined, 'the intolerant pod was bound');
    assert.equal(intolerant.status.conditions?.find((c) => c.type === 'PodScheduled')?.reason, 'Unschedulable');
    for (const name of ['na-tolerating', 'na-intolerant']) await env.client.delete(`/api/v1/namespaces/default/pods/${name}`, { gracePeriodSeconds: 0 });
  });

  it('with leader election, only one of two replicas leads; SIGKILL the leader and the other takes over within the lease duration', async () => {
    const le = ['--leader-elect', '--leader-election-namespace', 'default', '--leader-election-name', 'na-le',
      '--leader-election-lease-duration', '4', '--leader-election-renew-deadline', '3', '--leader-election-retry-period', '0.5'];
    const a = startAgent('na-le-node', [...le, '--identity', 'replica-a']);
    await a.waitForOutput(/started leading/);
    const b = startAgent('na-le-node', [...le, '--identity', 'replica-b']);
    await b.waitForOutput(/leader election|node-agent started/);
    await waitFor('node Ready', async () => ready(await getNode('na-le-node')) === 'True');
    assert.doesNotMatch(b.output, /started leading/, 'the standby does not lead while the leader lives');
    const killedAt = Date.now();
    await a.kill();
    await b.waitForOutput(/started leading/, 15_000);
    const takeoverMs = Date.now() - killedAt;
    assert.ok(takeoverMs < 4000 + 2 * 500 + 1000, `took over after ${takeoverMs} ms`);
    const holder = (await env.client.get<{ spec: { holderIdentity: string } }>('/apis/coordination.k8s.io/v1/namespaces/default/leases/na-le')).spec.holderIdentity;
    assert.equal(holder, 'replica-b');
  });

  it('with Redis down, says so on /readyz, and exits 0 on SIGTERM within its shutdown time releasing the leader Lease', async () => {
    const redis = await RedisServer.start();
    const healthPort = await freePort();
    const agent = startAgent('na-redis-down', ['--health-port', String(healthPort), '--redis-url', redis.url, '--status-sync-interval-seconds', '1', '--leader-elect', '--identity', 'redis-down',
      '--leader-election-namespace', 'default', '--leader-election-name', 'na-redis-down']);
    try {
      await agent.waitForOutput(/started leading/);
      await waitFor('node Ready', async () => ready(await getNode('na-redis-down')) === 'True');
      await redis.close();
      // An enqueue of the status sync (every second) is now waiting on a Redis that does not answer.
      await agent.waitForOutput(/redis connection error/);
      // Said on /readyz, so that kubectl get pods shows the agent not ready while pods cannot be enqueued.
      const readyz = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      assert.equal(readyz.status, 503);
      assert.match(await readyz.text(), /redis/);
      agent.child.kill('SIGTERM');
      assert.equal(await agent.exited(), 0, agent.output.slice(-3000));
      const lease = await env.client.get<{ spec: { holderIdentity?: string } }>('/apis/coordination.k8s.io/v1/namespaces/default/leases/na-redis-down');
      assert.equal(lease.spec.holderIdentity ?? '', '', 'released, so a standby takes over at once');
    } finally {
      await redis.close();
    }
  });

  it('exits 1 when its node is not registered within --startup-timeout, also when it leads through leader election', async () => {
    // A ServiceAccount that may hold the election Lease but not create Nodes, so registration keeps failing.
    await env.kubectl('create', 'serviceaccount', 'na-no-nodes');
    await env.kubectl('create', 'role', 'na-election', '--verb=get,create,update', '--resource=leases.coordination.k8s.io');
    await env.kubectl('create', 'rolebinding', 'na-election', '--role=na-election', '--serviceaccount=default:na-no-nodes');
    const kubeconfig = tokenKubeconfig(env.controlPlane.kubeconfigPath, (await env.kubectl('create', 'token', 'na-no-nodes')).trim());
    const common = ['--kubeconfig', kubeconfig, '--no-pod-watcher', '--startup-timeout', '3s'];
    const alone = startAgent('na-startup', common);
    const elected = startAgent('na-startup-le', [...common, '--leader-elect', '--leader-election-namespace', 'default', '--leader-election-name', 'na-startup',
      '--leader-election-lease-duration', '4', '--leader-election-renew-deadline', '3', '--leader-election-retry-period', '0.5']);
    for (const agent of [alone, elected]) {
      assert.equal(await agent.exited(), 1, `${agent.name} output:\n${agent.output.slice(-2000)}`);
      assert.match(agent.output, /nodes not registered within --startup-timeout/);
    }
    assert.match(elected.output, /started leading/, 'the timeout ran from the moment it led');
  });

  it('exits non-zero naming every bad setting: unknown taint effect, negative capacity, unreadable provider config', async () => {
    const bad = providerConfig('');
    writeFileSync(bad, `endpoint = "${env.mockUrl}"\ncpu = "-4"\ncolour = "red"\n`);
    const a = ServiceProcess.start('node-agent', ['--nodename', 'na-bad', '--provider-config', bad, '--taint-effect', 'Sometimes', '--health-port', String(await freePort())]);
    assert.equal(await a.exited(), 2);
    assert.match(a.output, /unknown taint effect "Sometimes" \(use NoSchedule, NoExecute, PreferNoSchedule\)/);
    assert.match(a.output, /cpu: must be a quantity like 20, 500m or 100Gi/);
    assert.match(a.output, /colour: unknown key/);

    const b = ServiceProcess.start('node-agent', ['--nodename', 'na-bad', '--provider-config', join(tmp, 'missing.toml')]);
    assert.equal(await b.exited(), 2);
    assert.match(b.output, /--provider-config: cannot read provider config ".*missing\.toml": ENOENT/);
  });
});
