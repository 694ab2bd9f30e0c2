import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { V1Pod } from '@kubernetes/client-node';
import { ErrorCodes, EventRecorder, KubeRestClient, PatchType, VkError, createLogger, loadKubeConfig, type PodRef, type ProviderPod } from '@vk-ts/core';
import { MockProvider } from '@vk-ts/provider-mock';
import { ServiceProcess, tokenKubeconfig, waitFor } from '@vk-ts/testbed';
import { PodReconciler } from '../../services/pod-worker/src/pod-reconciler.ts';
import { StatusDigests } from '../../services/pod-worker/src/status-digests.ts';
import { env } from './fixtures.ts';

const NODE = 'pl-node';
const NS = 'pl';
const TOLERATE = [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }];
const running: ServiceProcess[] = [];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function getPod(name: string): Promise<V1Pod | undefined> {
  return env.client.get<V1Pod>(`/api/v1/namespaces/${NS}/pods/${name}`).catch(() => undefined);
}

async function createPod(name: string, spec: Record<string, unknown>, node = NODE): Promise<V1Pod> {
  return env.client.create<V1Pod>(`/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name } },
    spec: { nodeName: node, tolerations: TOLERATE, ...spec },
  });
}

async function waitPhase(name: string, phase: string, timeoutMs = 30_000): Promise<V1Pod> {
  try {
    return await waitFor(`pod ${name} ${phase}`, async () => { const p = await getPod(name); return p?.status?.phase === phase ? p : undefined; }, { timeoutMs });
  } catch (err) {
    const p = await getPod(name);
    throw new Error(`${(err as Error).message}; pod status ${JSON.stringify(p?.status)}; events: ${await eventReasons(name)}`, { cause: err });
  }
}

async function eventReasons(name: string): Promise<string> {
  return env.kubectl('-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={.items[*].reason}');
}

/** The pod's Events, one `reason: message` a line. */
async function eventLines(name: string): Promise<string> {
  return env.kubectl('-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}');
}

function refOf(pod: V1Pod): PodRef {
  return { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, uid: pod.metadata!.uid! };
}

describe('pod lifecycle: what the provider receives, provider-side changes, failures and deletion', function () {
  this.timeout(180_000);

  before(async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'vk-pl-')), 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\ncpu = "4"\nmemory = "8Gi"\n`);
    const common = ['--kubeconfig', env.controlPlane.kubeconfigPath, '--redis-url', env.redis.url, '--nodename', NODE, '--provider-config', cfg, '--health-port', '0'];
    running.push(ServiceProcess.start('node-agent', [...common, '--node-lease-renew-interval-seconds', '2', '--resync-interval-seconds', '5', '--status-sync-interval-seconds', '1']));
    running.push(ServiceProcess.start('pod-worker', common), ServiceProcess.start('pod-worker', common));
    await env.kubectl('create', 'namespace', NS);
    await waitFor('node Ready', async () => (await env.kubectl('get', 'node', NODE, '--no-headers')).includes(' Ready '));
    await waitFor('default service account', () => env.kubectl('-n', NS, 'get', 'sa', 'default').then(() => true));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const s of running) process.stderr.write(`--- ${s.name} output (last 4 kB):\n${s.output.slice(-4000)}\n`);
    env.mock.backend.setFaults({ failCreates: 0, rejectImages: [], stopLatencyMs: 0, restartDelayMs: 10_000, callLatencyMs: 0 });
  });

  after(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  it('hands the provider resolved volumes, downward API values and a bound service-account token, and never puts the secret in Redis or logs', async () => {
    const secretValue = 'hunter2-do-not-leak';
    await env.kubectl('-n', NS, 'create', 'configmap', 'site', '--from-literal=index.html=<h1>hi</h1>', '--from-literal=other=x');
    await env.kubectl('-n', NS, 'create', 'secret', 'generic', 'creds', `--from-literal=password=${secretValue}`);
    await createPod('volumes', {
      initContainers: [{ name: 'init', image: 'busybox' }],
      containers: [{
        name: 'web', image: 'nginx:1.27',
        resources: { limits: { memory: '64Mi', cpu: '500m' } },
        env: [
          { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        ],
      }],
      volumes: [
        { name: 'site', configMap: { name: 'site', items: [{ key: 'index.html', path: 'html/index.html' }] } },
        { name: 'creds', secret: { secretName: 'creds' } },
        { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } }] } },
        { name: 'scratch', emptyDir: {} },
      ],
    });
    const pod = await waitPhase('volumes', 'Running');
    const provided = env.mock.backend.get(refOf(pod))!;
    const web = provided.spec.containers[0]!;
    assert.equal(web.env['MEM_MI'], '64');
    assert.equal(web.env['CPU'], '1', '500m rounds up to 1 core, as the kubelet does');
    const volumes = Object.fromEntries(provided.spec.volumes.map((v) => [v.name, v]));
    assert.deepEqual(volumes['site'], { name: 'site', kind: 'configMap', files: { 'html/index.html': sha256('<h1>hi</h1>') } });
    assert.deepEqual(volumes['creds']?.files, { password: sha256(secretValue) });
    assert.deepEqual(volumes['info']?.files, { labels: sha256('app="volumes"'), mem: sha256('64') });
    assert.deepEqual(volumes['scratch'], { name: 'scratch', kind: 'emptyDir', files: {} });
    // The ServiceAccount admission plugin adds kube-api-access-*: a TokenRequest token, the cluster CA and the namespace.
    const access = provided.spec.volumes.find((v) => v.name.startsWith('kube-api-access-'));
    assert.ok(access, `volumes: ${provided.spec.volumes.map((v) => v.name).join(', ')}`);
    assert.deepEqual(Object.keys(access.files).sort(), ['ca.crt', 'namespace', 'token']);
    assert.equal(access.files['namespace'], sha256(NS));

    const status = pod.status!;
    assert.equal(status.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    assert.equal(status.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
    assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(status.qosClass, 'Burstable');
    assert.ok(status.podIP && status.hostIP && status.startTime);

    // Secret values go to the provider only: not in Redis (queue, locks, digests), not in any log line.
    const redis = new Redis(env.redis.url);
    try {
      // Values are read by type: DUMP compresses values over 20 bytes, which can hide the secret from a search.
      const keys = await redis.keys('*');
      assert.ok(keys.length > 0, 'Redis holds no key at all: nothing was checked');
      for (const key of keys) {
        const values = await redisValues(redis, key);
        assert.ok(!values.some((v) => v.includes(secretValue)), `Redis key ${key} holds the secret`);
      }
    } finally {
      redis.disconnect();
    }
    for (const s of running) assert.ok(!s.output.includes(secretValue), `${s.name} logged the secret`);
    assert.ok(!(await env.kubectl('-n', NS, 'get', 'events', '-o', 'json')).includes(secretValue), 'an Event holds the secret');
  });

  it('runs a pod whose optional ConfigMap and Secret are missing with Optional…NotFound Events, and holds one whose mandatory Secret is missing until it exists', async () => {
    await createPod('optional-refs', {
      containers: [{
        name: 'c', image: 'busybox',
        envFrom: [{ configMapRef: { name: 'no-such-cm', optional: true } }],
        env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 'no-such-secret', key: 'k', optional: true } } }],
      }],
      volumes: [{ name: 'maybe', secret: { secretName: 'no-such-secret-vol', optional: true } }],
    });
    await createPod('needs-secret', { containers: [{ name: 'c', image: 'busybox', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'api-token', key: 'token' } } }] }] });

    const optional = await waitPhase('optional-refs', 'Running');
    assert.ok(env.mock.backend.get(refOf(optional)), 'running in the provider');
    assert.deepEqual(env.mock.backend.get(refOf(optional))!.spec.volumes.find((v) => v.name === 'maybe')?.files, {});
    await waitFor('Optional…NotFound events', async () => {
      const reasons = await eventReasons('optional-refs');
      return reasons.includes('OptionalConfigMapNotFound') && reasons.includes('OptionalSecretNotFound');
    });

    await waitFor('MandatorySecretNotFound event', async () => (await eventReasons('needs-secret')).includes('MandatorySecretNotFound'));
    const held = (await getPod('needs-secret'))!;
    assert.equal(held.status?.phase, 'Pending');
    assert.equal(held.status?.reason, 'CreateContainerConfigError');
    assert.equal(env.mock.backend.get(refOf(held)), undefined, 'not created in the provider');
    await env.kubectl('-n', NS, 'create', 'secret', 'generic', 'api-token', '--from-literal=token=t0k3n');
    const started = await waitPhase('needs-secret', 'Running', 60_000);
    assert.equal(env.mock.backend.get(refOf(started))!.spec.containers[0]!.env['TOKEN'], 't0k3n');
  });

  it('gets a pod requesting ephemeral storage scheduled onto the node, and hands it the node\'s ephemeral storage where the container sets no limit', async () => {
    // No nodeName: the real scheduler must find that the node has ephemeral storage to give.
    await env.client.create<V1Pod>(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'scratchy' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': NODE }, tolerations: TOLERATE,
        containers: [{
          name: 'c', image: 'busybox', resources: { requests: { 'ephemeral-storage': '2Gi' } },
          env: [{ name: 'DISK_GI', valueFrom: { resourceFieldRef: { resource: 'limits.ephemeral-storage', divisor: '1Gi' } } }],
        }],
      },
    });
    const pod = await waitPhase('scratchy', 'Running');
    assert.equal(pod.spec!.nodeName, NODE);
    const node = await env.client.get<{ status: { allocatable: Record<string, string> } }>(`/api/v1/nodes/${NODE}`);
    assert.equal(node.status.allocatable['ephemeral-storage'], '100Gi', 'the mock\'s default');
    assert.equal(env.mock.backend.get(refOf(pod))!.spec.containers[0]!.env['DISK_GI'], '100');
  });

  it('runs a sidecar (an init container with restartPolicy Always) beside the containers: the pod is initialized and ready with it, and kubectl counts it', async () => {
    await createPod('sidecar', {
      initContainers: [{ name: 'setup', image: 'busybox' }, { name: 'proxy', image: 'envoy:1', restartPolicy: 'Always' }],
      containers: [{ name: 'app', image: 'nginx:1.27' }],
    });
    const pod = await waitFor('pod Ready', async () => {
      const p = await getPod('sidecar');
      return p?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    });
    const proxy = pod.status!.initContainerStatuses!.find((c) => c.name === 'proxy')!;
    assert.deepEqual([Boolean(proxy.state?.running), proxy.ready, proxy.started], [true, true, true]);
    assert.equal(pod.status!.initContainerStatuses!.find((c) => c.name === 'setup')!.state?.terminated?.reason, 'Completed');
    assert.match(await env.kubectl('-n', NS, 'get', 'pod', 'sidecar', '--no-headers'), /^sidecar\s+2\/2\s+Running/);
  });

  it('restarts a container that exits under restartPolicy Always, as the kubelet does: the pod stays Running, with the restart counted and how it ended', async () => {
    // Long enough for the batch status sync (every second here) to see the back-off before the restart.
    env.mock.backend.setFaults({ restartDelayMs: 5000 });
    const pod = await createPod('crashes', { containers: [{ name: 'app', image: 'busybox' }] });
    const running = await waitPhase('crashes', 'Running');
    env.mock.backend.exitContainer(refOf(running), 'app', 1);
    const backingOff = await waitFor('CrashLoopBackOff on the pod', async () => {
      const p = await getPod('crashes');
      return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    }, { timeoutMs: 5_000, intervalMs: 100 });
    assert.equal(backingOff.status!.phase, 'Running', 'a Deployment\'s pod is not replaced for a crash');
    assert.equal(backingOff.status!.containerStatuses![0]!.lastState?.terminated?.exitCode, 1);
    const restarted = await waitFor('running again, the restart counted', async () => {
      const p = await getPod('crashes');
      const c = p?.status?.containerStatuses?.[0];
      return c?.state?.running && c.restartCount === 1 && c.ready ? p : undefined;
    }, { timeoutMs: 20_000 });
    assert.equal(restarted.status!.phase, 'Running');
    assert.equal(restarted.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'True');
    assert.equal(restarted.metadata!.uid, pod.metadata!.uid, 'the same pod');
    // Each run has its own log (kubectl logs --previous reads the one before; mock-provider.test.ts).
    const app = env.mock.backend.get(refOf(restarted))!.containers[0]!;
    assert.equal(app.previousLogs?.[0]?.line, 'mock: started container app (busybox)');
    assert.deepEqual(app.logs.map((l) => l.line), ['mock: restarted container app (busybox)']);
  });

  it('shows a container that exits in the provider on the pod within seconds, and a pod the provider lost as Failed with a Warning Event', async () => {
    // restartPolicy Never: the exits stay, and the pod ends Failed once every container has ended.
    await createPod('exits', { restartPolicy: 'Never', containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] });
    await createPod('lost', { containers: [{ name: 'c', image: 'busybox' }] });
    const exits = await waitPhase('exits', 'Running');
    const lost = await waitPhase('lost', 'Running');

    env.mock.backend.exitContainer(refOf(exits), 'a', 3);
    const seen = await waitFor('exit code on the pod', async () => {
      const p = await getPod('exits');
      const a = p?.status?.containerStatuses?.find((c) => c.name === 'a');
      return a?.state?.terminated ? p : undefined;
    }, { timeoutMs: 10_000 });
    const a = seen!.status!.containerStatuses!.find((c) => c.name === 'a')!;
    assert.equal(a.state!.terminated!.exitCode, 3);
    assert.equal(a.ready, false);
    assert.equal(seen!.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
    env.mock.backend.exitContainer(refOf(exits), 'b', 0);
    await waitPhase('exits', 'Failed', 10_000);

    env.mock.backend.lose(refOf(lost));
    const failed = await waitPhase('lost', 'Failed', 10_000);
    assert.equal(failed.status!.reason, 'ProviderPodLost');
    // Not ready any more (PodDisruptionBudgets, kubectl wait), and its container ended as the kubelet ends one it cannot find.
    assert.deepEqual(failed.status!.conditions!.filter((c) => c.type === 'Ready' || c.type === 'ContainersReady').map((c) => [c.type, c.status, c.reason]),
      [['ContainersReady', 'False', 'PodFailed'], ['Ready', 'False', 'PodFailed']]);
    const gone = failed.status!.containerStatuses![0]!;
    assert.deepEqual([gone.ready, gone.state?.terminated?.reason, gone.state?.terminated?.exitCode], [false, 'ContainerStatusUnknown', 137]);
    await waitFor('ProviderPodLost event', async () => (await eventReasons('lost')).includes('ProviderPodLost'));
  });

  it('holds an invalid pod and a pod with a volume the provider cannot mount Pending (fails them when restartPolicy is Never), holds a pod whose image cannot be pulled in ImagePullBackOff until it can, each with an Event, and keeps serving other pods', async () => {
    env.mock.backend.setFaults({ rejectImages: ['registry.example/missing:1'] });
    await createPod('bad-field', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', env: [{ name: 'X', valueFrom: { resourceFieldRef: { resource: 'limits.hugepages-2Mi' } } }] }] });
    await createPod('bad-image', { containers: [{ name: 'c', image: 'registry.example/missing:1' }] });
    await createPod('bad-init-image', { initContainers: [{ name: 'init', image: 'registry.example/missing:1' }], containers: [{ name: 'c', image: 'busybox' }] });
    await createPod('bad-volume', { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'host', hostPath: { path: '/var/data' } }] });
    await createPod('good', { containers: [{ name: 'c', image: 'busybox' }] });

    const badField = await waitPhase('bad-field', 'Failed');
    assert.equal(badField.status!.reason, 'InvalidPodSpec');
    assert.match(badField.status!.message!, /resourceFieldRef "limits\.hugepages-2Mi".*not supported/);
    // As the kubelet: Pending, the container waiting for its image and retried (a Deployment's ReplicaSet would
    // replace a Failed pod at once, and again, and again).
    const pulling = await waitFor('bad-image waiting for its image', async () => {
      const p = await getPod('bad-image');
      const waiting = p?.status?.containerStatuses?.[0]?.state?.waiting;
      return waiting?.reason === 'ImagePullBackOff' ? { p: p!, waiting } : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(pulling.p.status!.phase, 'Pending');
    assert.match(pulling.waiting.message!, /registry\.example\/missing:1/);
    // An init container's image: the pod is held in its init phase, which kubectl shows.
    await waitFor('bad-init-image held in its init phase', async () =>
      /^bad-init-image\s+0\/1\s+Init:(ErrImagePull|ImagePullBackOff)/.test(await env.kubectl('-n', NS, 'get', 'pod', 'bad-init-image', '--no-headers')), { timeoutMs: 30_000 });
    // restartPolicy Always: Pending with the reason, never Failed (its ReplicaSet would replace it in a loop).
    const badVolume = await waitFor('bad-volume held with its reason', async () => {
      const p = await getPod('bad-volume');
      return p?.status?.reason === 'InvalidPodSpec' ? p : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(badVolume.status!.phase, 'Pending');
    assert.match(badVolume.status!.message!, /cannot mount volume "host" \(hostPath\)/);
    assert.match(await env.kubectl('-n', NS, 'get', 'pod', 'bad-volume', '--no-headers'), /^bad-volume\s+0\/1\s+InvalidPodSpec\s/);
    await waitFor('events', async () => (await eventReasons('bad-field')).includes('InvalidPodSpec') && (await eventReasons('bad-image')).includes('Failed')
      && (await eventReasons('bad-volume')).includes('InvalidPodSpec'));
    assert.match(await env.kubectl('-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=bad-image', '-o', 'jsonpath={.items[*].message}'),
      /Failed to pull image "registry\.example\/missing:1"/);
    await waitPhase('good', 'Running');
    for (const s of running) assert.equal(s.child.exitCode ?? s.child.signalCode, null, `${s.name} is still running`);
    assert.equal(env.mock.backend.list(NODE).filter((p) => p.spec.ref.name.startsWith('bad-')).length, 0);
    // The image can be had now: the next retry runs the pod.
    env.mock.backend.setFaults({ rejectImages: [] });
    await waitPhase('bad-image', 'Running', 60_000);
    await waitPhase('bad-init-image', 'Running', 60_000);
  });

  it('ends a pod at its activeDeadlineSeconds, as the kubelet: Failed with DeadlineExceeded, containers terminated, an Event, nothing left in the provider', async () => {
    await createPod('deadline', { activeDeadlineSeconds: 3, containers: [{ name: 'c', image: 'busybox' }] });
    const running = await waitPhase('deadline', 'Running');
    const failed = await waitPhase('deadline', 'Failed', 30_000);
    assert.equal(failed.status!.reason, 'DeadlineExceeded');
    assert.equal(failed.status!.message, 'Pod was active on the node longer than the specified deadline');
    const lived = Date.parse(String(failed.status!.containerStatuses![0]!.state!.terminated!.finishedAt)) - Date.parse(String(running.status!.startTime));
    assert.ok(lived >= 3000, `ended ${lived} ms after its start, not before its deadline`);
    assert.equal(failed.status!.containerStatuses![0]!.state!.terminated!.reason, 'DeadlineExceeded');
    assert.equal(failed.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
    assert.match(await eventReasons('deadline'), /DeadlineExceeded/);
    assert.equal(env.mock.backend.list(NODE).filter((p) => p.spec.ref.name === 'deadline').length, 0);
    assert.match(await env.kubectl('-n', NS, 'get', 'pod', 'deadline', '--no-headers'), /^deadline\s+0\/1\s+DeadlineExceeded\s/);

    // Held Pending (its image cannot be had): the deadline counts from when the node took it, as the kubelet's does.
    env.mock.backend.setFaults({ rejectImages: ['registry.example/never:1'] });
    try {
      await createPod('deadline-pending', { activeDeadlineSeconds: 3, containers: [{ name: 'c', image: 'registry.example/never:1' }] });
      const ended = await waitPhase('deadline-pending', 'Failed', 60_000);
      assert.equal(ended.status!.reason, 'DeadlineExceeded');
      assert.ok(ended.status!.startTime, 'a start time written while it was held');
    } finally {
      env.mock.backend.setFaults({ rejectImages: [] });
    }

    // A long deadline never holds up a deletion: the deadline's pass is a job of its own.
    await createPod('deadline-long', { activeDeadlineSeconds: 3600, containers: [{ name: 'c', image: 'busybox' }] });
    await waitPhase('deadline-long', 'Running');
    const deleting = Date.now();
    await env.kubectl('-n', NS, 'delete', 'pod', 'deadline-long', '--wait=true', '--timeout=60s');
    assert.ok(Date.now() - deleting < 30_000, `deleted after ${Date.now() - deleting} ms`);
  });

  it('puts a pod whose create failed transiently in reason ProviderFailed, and a restartPolicy Never pod in Failed once its retry budget is spent, unless it waits for a Secret', async () => {
    // Driven in-process on a node no service watches, so the attempt count is ours to set.
    const direct = 'pl-direct';
    const logger = createLogger({ service: 'test', level: 'silent' });
    const redis = new Redis(env.redis.url);
    const provider = new MockProvider({ endpoint: env.mockUrl, nodeName: direct, node: { operatingSystem: 'linux', architecture: 'amd64', capacity: { cpu: '1', memory: '1Gi', pods: '10' } } });
    const reconciler = new PodReconciler({
      client: env.client, provider, logger, nodeName: direct, digests: new StatusDigests(redis, direct),
      events: new EventRecorder(env.client, { logger, host: 'test' }),
    });
    try {
      const always = await createPod('retry-always', { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] }, direct);
      const never = await createPod('retry-never', { automountServiceAccountToken: false, restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] }, direct);
      const job = (p: V1Pod) => ({ ...refOf(p), resourceVersion: '', op: 'create' as const });

      env.mock.backend.setFaults({ failCreates: 2, failCreatesKind: 'transient' });
      await assert.rejects(reconciler.reconcile(job(always), { finalAttempt: true }), /injected transient create failure/);
      const a = (await getPod('retry-always'))!;
      assert.equal(a.status!.phase, 'Pending', 'restartPolicy Always keeps trying (next resync)');
      assert.equal(a.status!.reason, 'ProviderFailed');

      await assert.rejects(reconciler.reconcile(job(never), { finalAttempt: false }), /injected/);
      assert.equal((await getPod('retry-never'))!.status!.phase, 'Pending', 'not the last attempt yet');
      env.mock.backend.setFaults({ failCreates: 1 });
      await assert.rejects(reconciler.reconcile(job(never), { finalAttempt: true }), /injected/);
      const n = (await getPod('retry-never'))!;
      assert.equal(n.status!.phase, 'Failed');
      assert.equal(n.status!.reason, 'ProviderFailed');
      assert.match(await eventReasons('retry-never'), /ProviderCreateFailed/);

      await reconciler.reconcile(job(always), { finalAttempt: false });
      const recovered = (await getPod('retry-always'))!;
      assert.equal(recovered.status!.phase, 'Running', 'a later pass succeeds');
      assert.equal(recovered.status!.reason, undefined, 'and the failure\'s reason is gone, so kubectl get pods shows Running');
      assert.equal(recovered.status!.message, undefined);

      // A missing Secret is waited for, even by a restartPolicy Never pod on its last attempt (a Job's pod created before its Secret).
      const waits = await createPod('retry-never-secret', {
        automountServiceAccountToken: false, restartPolicy: 'Never',
        containers: [{ name: 'c', image: 'busybox', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'later-secret', key: 'k' } } }] }],
      }, direct);
      await assert.rejects(reconciler.reconcile(job(waits), { finalAttempt: true }), /later-secret/);
      const w = (await getPod('retry-never-secret'))!;
      assert.equal(w.status!.phase, 'Pending', 'a missing Secret does not fail the pod');
      assert.equal(w.status!.reason, 'CreateContainerConfigError');
      await env.kubectl('-n', NS, 'create', 'secret', 'generic', 'later-secret', '--from-literal=k=v');
      await reconciler.reconcile(job(waits), { finalAttempt: false });
      assert.equal((await getPod('retry-never-secret'))!.status!.phase, 'Running', 'it starts once the Secret exists');
    } finally {
      redis.disconnect();
      await env.kubectl('-n', NS, 'delete', 'pod', 'retry-always', 'retry-never', 'retry-never-secret', '--grace-period=0', '--force', '--wait=false').catch(() => '');
      for (const p of env.mock.backend.list(direct)) env.mock.backend.delete(p.spec.ref);
    }
  });

  it('deletes the provider copy of a restartPolicy Never pod before failing it for good (a create whose answer was lost may have landed), and does not fail it while that delete fails', async () => {
    // Driven in-process on a node no service watches, so the attempt count is ours to set.
    const direct = 'pl-give-up';
    const logger = createLogger({ service: 'test', level: 'silent' });
    const redis = new Redis(env.redis.url);
    // A create that lands but whose answer is lost, as on a timeout. Played here: the mock backend does not
    // finish a create whose caller has gone. `afterLanding` runs once the copy is in the backend.
    let afterLanding: (() => void) | undefined;
    const provider = new class extends MockProvider {
      override async createPod(pod: Parameters<MockProvider['createPod']>[0]): Promise<ProviderPod> {
        await super.createPod(pod);
        afterLanding?.();
        throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `mock backend PUT /v1/pods/${pod.ref.namespace}/${pod.ref.name}/${pod.ref.uid} failed: Headers Timeout Error`);
      }
    }({ endpoint: env.mockUrl, nodeName: direct, requestTimeoutMs: 300, node: { operatingSystem: 'linux', architecture: 'amd64', capacity: { cpu: '1', memory: '1Gi', pods: '10' } } });
    const reconciler = new PodReconciler({
      client: env.client, provider, logger, nodeName: direct, digests: new StatusDigests(redis, direct),
      events: new EventRecorder(env.client, { logger, host: 'test' }),
    });
    try {
      const pod = await createPod('give-up', { automountServiceAccountToken: false, restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] }, direct);
      const ref = refOf(pod);
      const job = { ...ref, resourceVersion: '', op: 'create' as const };

      // The provider then answers later (3 s) than this provider waits (300 ms): the delete before failing the pod
      // fails, so the pod is not failed, and the Event says why.
      afterLanding = () => { env.mock.backend.setFaults({ callLatencyMs: 3000 }); };
      await assert.rejects(reconciler.reconcile(job, { finalAttempt: true }), /^VkError: mock backend DELETE \/v1\/pods\/pl\/give-up\/[^ ]+ failed: /);
      const kept = (await getPod('give-up'))!;
      assert.equal(kept.status!.phase, 'Pending', 'not Failed while its provider copy may run');
      assert.equal(kept.status!.reason, 'ProviderFailed');
      assert.match(await eventLines('give-up'), /^FailedKillPod: Cannot delete pod "pl\/give-up" in provider: mock backend DELETE \/v1\/pods\/pl\/give-up\/[^ ]+ failed: /m);
      env.mock.backend.setFaults({ callLatencyMs: 0 });
      await waitFor('the late delete to land in the backend', () => env.mock.backend.get(ref) === undefined, { timeoutMs: 10_000 });

      // The provider answers the delete: the copy is gone before the pod is Failed.
      afterLanding = undefined;
      await assert.rejects(reconciler.reconcile(job, { finalAttempt: true }), /^VkError: mock backend PUT \/v1\/pods\/pl\/give-up\/[^ ]+ failed: Headers Timeout Error/);
      const failed = (await getPod('give-up'))!;
      assert.equal(failed.status!.phase, 'Failed');
      assert.equal(failed.status!.reason, 'ProviderFailed');
      assert.equal(env.mock.backend.get(ref), undefined, 'no copy keeps running beside the Failed pod');
    } finally {
      afterLanding = undefined;
      env.mock.backend.setFaults({ callLatencyMs: 0 });
      redis.disconnect();
      await env.kubectl('-n', NS, 'delete', 'pod', 'give-up', '--grace-period=0', '--force', '--wait=false').catch(() => '');
      for (const p of env.mock.backend.list(direct)) env.mock.backend.delete(p.spec.ref);
      await provider.close();
    }
  });

  it('records a FailedKillPod Warning Event naming the provider\'s error when the provider delete of a pod being deleted fails, and retries it', async () => {
    const direct = 'pl-kill';
    const logger = createLogger({ service: 'test', level: 'silent' });
    const redis = new Redis(env.redis.url);
    const provider = new MockProvider({ endpoint: env.mockUrl, nodeName: direct, requestTimeoutMs: 300, node: { operatingSystem: 'linux', architecture: 'amd64', capacity: { cpu: '1', memory: '1Gi', pods: '10' } } });
    const reconciler = new PodReconciler({
      client: env.client, provider, logger, nodeName: direct, digests: new StatusDigests(redis, direct),
      events: new EventRecorder(env.client, { logger, host: 'test' }),
    });
    try {
      const pod = await createPod('kill-fails', { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] }, direct);
      const job = { ...refOf(pod), resourceVersion: '', op: 'update' as const };
      await reconciler.reconcile(job);
      assert.equal((await getPod('kill-fails'))!.status!.phase, 'Running');
      await env.kubectl('-n', NS, 'delete', 'pod', 'kill-fails', '--wait=false');

      // The provider answers later (3 s) than this provider waits (300 ms): the delete fails.
      env.mock.backend.setFaults({ callLatencyMs: 3000 });
      await assert.rejects(reconciler.reconcile(job), /^VkError: mock backend DELETE \/v1\/pods\/pl\/kill-fails\/[^ ]+ failed: /);
      assert.ok((await getPod('kill-fails'))?.metadata?.deletionTimestamp, 'the pod stays, terminating');
      assert.match(await eventLines('kill-fails'), /^FailedKillPod: Cannot delete pod "pl\/kill-fails" in provider: mock backend DELETE \/v1\/pods\/pl\/kill-fails\/[^ ]+ failed: /m);

      // The retry, once the provider answers, ends the deletion.
      env.mock.backend.setFaults({ callLatencyMs: 0 });
      await reconciler.reconcile(job);
      assert.equal(await getPod('kill-fails'), undefined);
    } finally {
      env.mock.backend.setFaults({ callLatencyMs: 0 });
      redis.disconnect();
      await env.kubectl('-n', NS, 'delete', 'pod', 'kill-fails', '--grace-period=0', '--force', '--wait=false').catch(() => '');
      for (const p of env.mock.backend.list(direct)) env.mock.backend.delete(p.spec.ref);
      await provider.close();
    }
  });

  it('says on the pod what the API server refuses for good: a Secret read, the status write, the final delete (real ServiceAccounts without those rights)', async () => {
    const direct = 'pl-rbac';
    const logger = createLogger({ service: 'test', level: 'silent' });
    const redis = new Redis(env.redis.url);
    const provider = new MockProvider({ endpoint: env.mockUrl, nodeName: direct, node: { operatingSystem: 'linux', architecture: 'amd64', capacity: { cpu: '1', memory: '1Gi', pods: '10' } } });
    const clients: KubeRestClient[] = [];
    /** A reconciler whose Kubernetes client is a ServiceAccount with only these rights in the namespace. */
    const reconcilerAs = async (account: string, verbs: string, resources: string): Promise<PodReconciler> => {
      await env.kubectl('-n', NS, 'create', 'serviceaccount', account);
      await env.kubectl('-n', NS, 'create', 'role', account, `--verb=${verbs}`, `--resource=${resources}`);
      await env.kubectl('-n', NS, 'create', 'rolebinding', account, `--role=${account}`, `--serviceaccount=${NS}:${account}`);
      const kubeconfigPath = tokenKubeconfig(env.controlPlane.kubeconfigPath, (await env.kubectl('-n', NS, 'create', 'token', account)).trim());
      const client = await KubeRestClient.create({ kubeConfig: loadKubeConfig({ kubeconfigPath }), qps: 0, burst: 1, userAgent: 'pod-lifecycle-test' });
      clients.push(client);
      return new PodReconciler({ client, provider, logger, nodeName: direct, digests: new StatusDigests(redis, direct), events: new EventRecorder(env.client, { logger, host: 'test' }) });
    };
    const job = (p: V1Pod) => ({ ...refOf(p), resourceVersion: '', op: 'create' as const });
    const notRetried = (err: Error): boolean => err.name === 'UnrecoverableError' && /403/.test(err.message);
    try {
      // A Secret read refused (RBAC): said as the kubelet says it, not blamed on the provider, and waited for.
      await env.kubectl('-n', NS, 'create', 'secret', 'generic', 'rbac-secret', '--from-literal=k=v');
      const noSecrets = await reconcilerAs('no-secrets', 'get,list,watch,patch', 'pods,pods/status');
      const needs = await createPod('forbidden-secret', {
        automountServiceAccountToken: false, restartPolicy: 'Never',
        containers: [{ name: 'c', image: 'busybox', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'rbac-secret', key: 'k' } } }] }],
      }, direct);
      await assert.rejects(noSecrets.reconcile(job(needs), { finalAttempt: true }), /403/);
      const f = (await getPod('forbidden-secret'))!;
      assert.equal(f.status!.phase, 'Pending', 'the API server refusing does not use up a Never pod');
      assert.equal(f.status!.reason, 'CreateContainerConfigError');
      assert.match(f.status!.message!, /secrets "rbac-secret" is forbidden/);
      const events = await eventLines('forbidden-secret');
      assert.match(events, /^Failed: Cannot prepare the pod's containers: .*secrets "rbac-secret" is forbidden/m);
      assert.doesNotMatch(events, /ProviderCreateFailed/);

      // The status write refused (RBAC without pods/status): said on the pod, and not retried.
      const noStatus = await reconcilerAs('no-status', 'get,list,watch', 'pods');
      const unwritable = await createPod('status-refused', { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] }, direct);
      await assert.rejects(noStatus.reconcile(job(unwritable), { finalAttempt: false }), notRetried);
      assert.match(await eventLines('status-refused'), /^StatusUpdateFailed: Cannot write the pod's status: .*cannot patch resource \\?"pods\/status\\?"/m);
      // Its record names the refused provider state (the batch status sync does not bring it back every few seconds)
      // and no generation (the node resync still gives it a pass every interval).
      const record = (await new StatusDigests(redis, direct).all()).get(unwritable.metadata!.uid!);
      assert.ok(record, 'the refusal is recorded');
      assert.equal(record.generation, undefined);

      // The final DELETE refused (RBAC without delete): said on the pod, which stays Terminating; not retried.
      const noDelete = await reconcilerAs('no-delete', 'get,list,watch,patch', 'pods,pods/status');
      const doomed = await createPod('delete-refused', { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] }, direct);
      await noDelete.reconcile(job(doomed), { finalAttempt: false });
      await env.kubectl('-n', NS, 'delete', 'pod', 'delete-refused', '--wait=false');
      await assert.rejects(noDelete.reconcile(job(doomed), { finalAttempt: false }), notRetried);
      assert.equal(env.mock.backend.get(refOf(doomed)), undefined, 'gone from the provider');
      assert.ok((await getPod('delete-refused'))?.metadata?.deletionTimestamp, 'the object stays, terminating');
      assert.match(await eventLines('delete-refused'), /^PodDeleteFailed: The provider stopped the pod, but its object cannot be deleted: .*cannot delete resource \\?"pods\\?"/m);
    } finally {
      for (const client of clients) client.close();
      redis.disconnect();
      await env.kubectl('-n', NS, 'delete', 'pod', 'forbidden-secret', 'status-refused', 'delete-refused', '--grace-period=0', '--force', '--wait=false').catch(() => '');
      for (const p of env.mock.backend.list(direct)) env.mock.backend.delete(p.spec.ref);
      await provider.close();
    }
  });

  it('a pod deleted, replaced by a newer pod of the same name, or changed while its pass runs: the pass ends without a failed attempt, removes what it created for a pod that is gone, and writes the status (or the failure) of a changed one', async () => {
    // Driven in-process on a node no service watches: the provider's create is where the pod object changes under the pass.
    const direct = 'pl-race';
    const logger = createLogger({ service: 'test', level: 'silent' });
    const redis = new Redis(env.redis.url);
    let duringCreate: (() => Promise<void>) | undefined;
    const provider = new class extends MockProvider {
      override async createPod(pod: Parameters<MockProvider['createPod']>[0]) {
        try {
          return await super.createPod(pod);
        } finally {
          await duringCreate?.();
        }
      }
    }({ endpoint: env.mockUrl, nodeName: direct, node: { operatingSystem: 'linux', architecture: 'amd64', capacity: { cpu: '1', memory: '1Gi', pods: '10' } } });
    // The pass's reads and writes as the API server answered them: verb, path, the resourceVersion a PATCH named, code.
    const calls: { verb: string; path: string; rv?: string; code: number }[] = [];
    const recorded = new Proxy(env.client, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        if (prop !== 'get' && prop !== 'patch') return value.bind(target);
        return async (path: string, ...rest: unknown[]) => {
          const body = prop === 'patch' ? rest[0] as { metadata?: { resourceVersion?: string } } : undefined;
          const call = { verb: String(prop).toUpperCase(), path: path.replace(`/api/v1/namespaces/${NS}/pods/`, ''), rv: body?.metadata?.resourceVersion, code: 200 };
          calls.push(call);
          try {
            return await (value as (...args: unknown[]) => Promise<unknown>).call(target, path, ...rest);
          } catch (err) {
            call.code = (err as { statusCode?: number }).statusCode ?? 0;
            throw err;
          }
        };
      },
    });
    const reconciler = new PodReconciler({
      client: recorded, provider, logger, nodeName: direct, digests: new StatusDigests(redis, direct),
      events: new EventRecorder(env.client, { logger, host: 'test' }),
    });
    const spec = { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] };
    const callsOf = async (pass: Promise<unknown>) => {
      calls.length = 0;
      await pass;
      return calls.map((c) => `${c.verb} ${c.path}${c.rv ? ` rv=${c.rv}` : ''} ${c.code}`);
    };
    const job = (p: V1Pod) => ({ ...refOf(p), resourceVersion: '', op: 'create' as const });
    const forceDelete = (name: string) => env.client.delete(`/api/v1/namespaces/${NS}/pods/${name}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    try {
      const first = await createPod('race-replaced', spec, direct);
      let second: V1Pod | undefined;
      duringCreate = async () => { await forceDelete('race-replaced'); second = await createPod('race-replaced', spec, direct); };
      assert.deepEqual(await callsOf(reconciler.reconcile(job(first))), [
        'GET race-replaced 200', `PATCH race-replaced/status rv=${first.metadata!.resourceVersion} 409`, 'GET race-replaced 200',
      ], 'the status write names the version read; the newer pod answers 409 and the read shows its other UID');
      assert.notEqual(second!.metadata!.uid, first.metadata!.uid);
      assert.deepEqual(env.mock.backend.list(direct).map((p) => p.spec.ref.uid), [], 'the replaced pod\'s provider copy is gone, and the newer pod was not created by the older pod\'s job');
      const now = (await getPod('race-replaced'))!;
      assert.equal(now.metadata!.uid, second!.metadata!.uid);
      assert.equal(now.status!.phase, 'Pending', 'the newer pod\'s status was not written from the older pod\'s provider state');

      const gone = await createPod('race-deleted', spec, direct);
      duringCreate = () => forceDelete('race-deleted').then(() => undefined);
      assert.deepEqual(await callsOf(reconciler.reconcile(job(gone))), ['GET race-deleted 200', `PATCH race-deleted/status rv=${gone.metadata!.resourceVersion} 404`]);
      assert.deepEqual(env.mock.backend.list(direct).map((p) => p.spec.ref.name), [], 'the deleted pod\'s provider copy is gone');

      // Changed by someone else (a label) while the pass runs: the status write meets a newer version, reads it and writes again.
      const changed = await createPod('race-changed', spec, direct);
      let touched: V1Pod | undefined;
      duringCreate = async () => {
        touched = await env.client.patch<V1Pod>(`/api/v1/namespaces/${NS}/pods/race-changed`, { metadata: { labels: { touched: 'yes' } } }, PatchType.StrategicMerge);
      };
      assert.deepEqual(await callsOf(reconciler.reconcile(job(changed))), [
        'GET race-changed 200', `PATCH race-changed/status rv=${changed.metadata!.resourceVersion} 409`,
        'GET race-changed 200', `PATCH race-changed/status rv=${touched!.metadata!.resourceVersion} 200`,
      ], 'the write on the version read meets the newer one; the pass reads it and writes on it');
      const after = (await getPod('race-changed'))!;
      assert.equal(after.status!.phase, 'Running');
      assert.equal(after.metadata!.labels!.touched, 'yes');
      assert.deepEqual(env.mock.backend.list(direct).map((p) => p.spec.ref.uid), [changed.metadata!.uid]);

      // A create the provider refuses for good, on a pod changed meanwhile: the Failed status still lands, on the newer version.
      const rejected = await createPod('race-rejected', { ...spec, restartPolicy: 'Never', volumes: [{ name: 'host', hostPath: { path: '/race' } }] }, direct);
      duringCreate = async () => {
        await env.client.patch(`/api/v1/namespaces/${NS}/pods/race-rejected`, { metadata: { labels: { touched: 'yes' } } }, PatchType.StrategicMerge);
      };
      await assert.rejects(reconciler.reconcile(job(rejected)), /cannot mount volume "host"/);
      const failed = (await getPod('race-rejected'))!;
      assert.equal(failed.status!.phase, 'Failed');
      assert.equal(failed.status!.reason, 'InvalidPodSpec');
      assert.equal(failed.metadata!.labels!.touched, 'yes', 'on the newer version');

      // Deleted gracefully while its pass runs: the deletion's event may have been merged into this very job, so
      // the pass asks for another one soon, and that pass stops the provider's copy and removes the pod.
      const terminating = await createPod('race-terminating', spec, direct);
      duringCreate = async () => { await env.kubectl('-n', NS, 'delete', 'pod', 'race-terminating', '--wait=false'); };
      const metDeletion = await reconciler.reconcile(job(terminating));
      assert.ok(metDeletion.requeueAfterMs !== undefined, 'the pass that met the deletion asks for another');
      duringCreate = undefined;
      assert.deepEqual(await reconciler.reconcile(job(terminating)), {});
      assert.equal(await getPod('race-terminating'), undefined, 'the next pass removed the pod');
      assert.equal(env.mock.backend.get(refOf(terminating)), undefined, 'and its provider copy');
    } finally {
      duringCreate = undefined;
      redis.disconnect();
      await env.kubectl('-n', NS, 'delete', 'pod', 'race-replaced', 'race-deleted', 'race-changed', 'race-rejected', 'race-terminating', '--grace-period=0', '--force', '--wait=false').catch(() => '');
      for (const p of env.mock.backend.list(direct)) env.mock.backend.delete(p.spec.ref);
    }
  });

  it('applies an image change to a running pod in place, keeps the pod running what it ran while the provider rejects the new image, and applies it once it can be had', async () => {
    await createPod('update', { containers: [{ name: 'c', image: 'nginx:1.26' }] });
    await waitPhase('update', 'Running');
    await env.kubectl('-n', NS, 'patch', 'pod', 'update', '-p', '{"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}');
    const updated = await waitFor('new image on the pod', async () => {
      const c = (await getPod('update'))?.status?.containerStatuses?.[0];
      return c?.image === 'nginx:1.27' ? c : undefined;
    });
    assert.equal(updated.restartCount, 1);

    // An image the provider rejects: a Warning Event naming it; the pod keeps running what it ran, and says so.
    env.mock.backend.setFaults({ rejectImages: ['registry.example/missing:2'] });
    await env.kubectl('-n', NS, 'patch', 'pod', 'update', '-p', '{"spec":{"containers":[{"name":"c","image":"registry.example/missing:2"}]}}');
    await waitFor('ProviderUpdateFailed event', async () => (await eventReasons('update')).includes('ProviderUpdateFailed'));
    const messages = await env.kubectl('-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=update,reason=ProviderUpdateFailed', '-o', 'jsonpath={.items[*].message}');
    assert.match(messages, /Cannot apply the pod's image change in provider: .*image "registry\.example\/missing:2" not found/);
    const kept = (await getPod('update'))!;
    assert.equal(kept.status?.phase, 'Running');
    assert.equal(kept.status?.containerStatuses?.[0]?.image, 'nginx:1.27', 'the status shows the image still running');
    assert.equal(env.mock.backend.get(refOf(kept))!.containers[0]!.image, 'nginx:1.27');

    // The image can be had now: the change is tried again (the node resync) and applied, as the kubelet keeps pulling.
    env.mock.backend.setFaults({ rejectImages: [] });
    await waitFor('the refused image applied once it can be had', async () => env.mock.backend.get(refOf(kept))?.containers[0]?.image === 'registry.example/missing:2', { timeoutMs: 60_000 });
    await waitFor('the status shows it', async () => (await getPod('update'))?.status?.containerStatuses?.[0]?.image === 'registry.example/missing:2');
  });

  it('ends an ephemeral container (kubectl debug) at once with a Warning Event and a terminated status saying why, and the pod keeps running', async () => {
    await createPod('debugged', { containers: [{ name: 'c', image: 'busybox' }] });
    await waitPhase('debugged', 'Running');
    await env.kubectl('-n', NS, 'debug', 'debugged', '--image=busybox', '--container=dbg', '--profile=general');
    const ended = await waitFor('the ephemeral container ended', async () => {
      const p = await getPod('debugged');
      return p?.status?.ephemeralContainerStatuses?.find((c) => c.name === 'dbg')?.state?.terminated;
    });
    assert.equal(ended.reason, 'EphemeralContainersNotSupported');
    assert.match(ended.message ?? '', /cannot add a container to a running pod/);
    await waitFor('the Warning Event', async () => (await eventReasons('debugged')).includes('EphemeralContainersNotSupported'));
    const pod = (await getPod('debugged'))!;
    assert.equal(pod.status?.phase, 'Running');
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
  });

  it('ends a deleted pod that a finalizer holds in phase Failed, not ready, so that its finalizer\'s holder (the Job controller) sees it end', async () => {
    await env.client.create<V1Pod>(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'held', finalizers: ['example.com/hold'] },
      spec: { nodeName: NODE, tolerations: TOLERATE, automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] },
    });
    const running = await waitPhase('held', 'Running');
    await env.kubectl('-n', NS, 'delete', 'pod', 'held', '--wait=false');
    const ended = await waitPhase('held', 'Failed');
    assert.ok(ended.metadata!.deletionTimestamp, 'still there: the finalizer holds it');
    assert.equal(ended.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
    const c = ended.status!.containerStatuses![0]!;
    assert.deepEqual([c.ready, Boolean(c.state?.terminated), Boolean(c.state?.running)], [false, true, false], 'its container shown ended, not running');
    assert.equal(env.mock.backend.get(refOf(running)), undefined, 'stopped in the provider');
    await env.client.patch(`/api/v1/namespaces/${NS}/pods/held`, { metadata: { finalizers: null } }, PatchType.StrategicMerge);
    await waitFor('pod gone once its finalizer is removed', async () => !(await getPod('held')));
  });

  it('deletes a pod whose containers ignore SIGTERM at the end of its grace period, and a force-deleted pod at once', async () => {
    await createPod('stubborn', { terminationGracePeriodSeconds: 4, containers: [{ name: 'c', image: 'busybox' }] });
    await createPod('forced', { terminationGracePeriodSeconds: 120, containers: [{ name: 'c', image: 'busybox' }] });
    const stubborn = await waitPhase('stubborn', 'Running');
    const forced = await waitPhase('forced', 'Running');
    env.mock.backend.setFaults({ stopLatencyMs: 600_000 });

    await env.kubectl('-n', NS, 'delete', 'pod', 'stubborn', '--wait=false');
    // deletionTimestamp is now + grace, cut to whole seconds: the grace period ends no earlier than it.
    const deletionTimestamp = Date.parse(String((await getPod('stubborn'))!.metadata!.deletionTimestamp));
    let providerRanUntil = 0;
    await waitFor('pod object gone', async () => {
      if (env.mock.backend.get(refOf(stubborn))) providerRanUntil = Date.now();
      return !(await getPod('stubborn'));
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const goneAt = Date.now();
    assert.ok(goneAt >= deletionTimestamp, `the pod object went ${deletionTimestamp - goneAt} ms before its grace period ended`);
    assert.ok(providerRanUntil >= deletionTimestamp - 1000, 'the provider stopped running it well before the grace period ended');
    assert.ok(goneAt - deletionTimestamp < 5000, `deleted ${goneAt - deletionTimestamp} ms after the grace period ended`);
    assert.equal(env.mock.backend.get(refOf(stubborn)), undefined, 'forced away in the provider');

    await env.kubectl('-n', NS, 'delete', 'pod', 'forced', '--grace-period=0', '--force');
    await waitFor('gone from the provider', async () => env.mock.backend.get(refOf(forced)) === undefined, { timeoutMs: 10_000 });
  });
});

/** Every value a Redis key holds, as strings (members, fields and values, stream entries). */
async function redisValues(redis: Redis, key: string): Promise<string[]> {
  switch (await redis.type(key)) {
    case 'string': return [(await redis.get(key)) ?? ''];
    case 'hash': return Object.entries(await redis.hgetall(key)).flat();
    case 'list': return redis.lrange(key, 0, -1);
    case 'set': return redis.smembers(key);
    case 'zset': return redis.zrange(key, 0, -1);
    case 'stream': return (await redis.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
    default: return [];
  }
}
