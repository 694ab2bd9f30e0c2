import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { V1Pod } from '@kubernetes/client-node';
import { POD_JOB_NAME, podJobOptions, podQueueName, type PodJobData } from '@vk-ts/core';
import { mockPodKey } from '@vk-ts/provider-mock';
import { RedisServer, ServiceProcess, waitFor } from '@vk-ts/testbed';
import { PendingJobs } from '../../services/pod-worker/src/pending-jobs.ts';
import { env } from './fixtures.ts';

/**
 * Crash safety and scale-out of the pod pipeline: work survives a worker
 * killed mid-burst, a Redis that loses everything and a node-agent restart,
 * and the end state does not depend on the number of workers. Each scenario
 * has its own node, namespace and Redis (FLUSHALL must not hit other tests).
 */

const TOLERATE = [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }];

interface Stack {
  node: string;
  ns: string;
  redis: RedisServer;
  agent: ServiceProcess;
  workers: ServiceProcess[];
  agentArgs: string[];
  workerArgs: string[];
}

const stacks: Stack[] = [];

/** `resyncSeconds`: the node-agent's resync interval (short, so that tests of lost work finish soon). */
async function startStack(node: string, workers: number, { resyncSeconds = 5 } = {}): Promise<Stack> {
  const redis = await RedisServer.start();
  const cfg = join(mkdtempSync(join(tmpdir(), 'vk-cs-')), 'mock.toml');
  writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
  const common = ['--kubeconfig', env.controlPlane.kubeconfigPath, '--redis-url', redis.url, '--nodename', node, '--provider-config', cfg, '--health-port', '0', '--kube-api-qps', '0'];
  const agentArgs = [...common, '--node-lease-renew-interval-seconds', '2', '--resync-interval-seconds', String(resyncSeconds), '--status-sync-interval-seconds', '2'];
  // Short job locks so that a killed worker's jobs come back within seconds, not a minute.
  const workerArgs = [...common, '--log-level', 'debug', '--job-lock-ms', '3000', '--stalled-interval-ms', '2000'];
  const stack: Stack = {
    node, ns: node, redis, agentArgs, workerArgs,
    agent: ServiceProcess.start('node-agent', agentArgs),
    workers: Array.from({ length: workers }, () => ServiceProcess.start('pod-worker', workerArgs)),
  };
  stacks.push(stack);
  await env.kubectl('create', 'namespace', stack.ns);
  await waitFor('node Ready', async () => (await env.kubectl('get', 'node', node, '--no-headers')).includes(' Ready '));
  return stack;
}

async function stopStack(stack: Stack): Promise<void> {
  await Promise.all([stack.agent, ...stack.workers].map((s) => s.stop()));
  await stack.redis.close();
}

/** Creates pods already bound to the node, `parallel` at a time, as a controller burst would. */
async function createPods(stack: Stack, names: string[], spec: (name: string) => Record<string, unknown> = () => ({}), parallel = 25): Promise<void> {
  const queue = [...names];
  await Promise.all(Array.from({ length: parallel }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      await env.client.create(`/api/v1/namespaces/${stack.ns}/pods`, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { burst: stack.node } },
        spec: { nodeName: stack.node, tolerations: TOLERATE, automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }], ...spec(name) },
      });
    }
  }));
}

async function listPods(stack: Stack): Promise<V1Pod[]> {
  return (await env.client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${stack.ns}/pods`)).items;
}

/** The control plane's audit events for writes to one pod: when, who (user agent), what, and the answer. */
function auditTrail(namespace: string, name: string): string[] {
  const path = env.controlPlane.auditLogPath;
  if (!path) return ['(no audit log)'];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.objectRef?.namespace === namespace && e.objectRef?.name === name)
    .map((e) => `${e.stageTimestamp} ${e.stage} ${e.verb} ${e.objectRef?.subresource ?? ''} ${e.responseStatus?.code ?? ''} `
      + `${e.userAgent ?? ''} ${e.requestURI} ${e.responseStatus?.message ?? ''} received=${e.requestReceivedTimestamp}`);
}

interface AuditEvent {
  stage: string; verb: string; requestURI: string; userAgent?: string; requestReceivedTimestamp: string; stageTimestamp: string;
  objectRef?: { namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number; message?: string };
}

const providerPods = (stack: Stack) => env.mock.backend.list(stack.node);

/** Every pod Running, and the provider holding exactly those pods, each created exactly once. */
async function assertAllRunningOnce(stack: Stack, count: number): Promise<void> {
  const pods = await waitFor(`${count} pods Running`, async () => {
    const items = await listPods(stack);
    return items.length === count && items.every((p) => p.status?.phase === 'Running') && providerPods(stack).length === count ? items : undefined;
  }, { timeoutMs: 120_000, intervalMs: 500 });
  const inProvider = providerPods(stack).map((p) => p.spec.ref.uid).sort();
  assert.deepEqual(inProvider, pods.map((p) => p.metadata!.uid!).sort(), 'the provider holds exactly the pods of the API server');
  const twice = pods.filter((p) => env.mock.backend.createCounts.get(mockPodKey({ namespace: stack.ns, name: p.metadata!.name!, uid: p.metadata!.uid! })) !== 1);
  assert.deepEqual(twice.map((p) => p.metadata!.name), [], 'pods started more than once in the provider');
}

/** `vk_kube_api_requests_total` of a process's /metrics as "VERB code" → count. */
function requestCounts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^vk_kube_api_requests_total\{verb="(\w+)",code="(\d+)"[^}]*\} (\d+)/gm)) out[`${m[1]} ${m[2]}`] = Number(m[3]);
  return out;
}

/** `vk_pod_jobs_total` of a worker's /metrics as "op result" → count. */
function jobCounts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^vk_pod_jobs_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out[`${labels['op']} ${labels['result']}`] = Number(m[2]);
  }
  return out;
}

/** A reader of one figure set of a started service's /metrics (its health port is chosen at start). */
async function workerMetrics<T>(service: ServiceProcess, parse: (text: string) => T): Promise<() => Promise<T>> {
  await service.waitForOutput(/"msg":"health server listening"/);
  const port = Number(/"port":(\d+)[^\n]*"msg":"health server listening"/.exec(service.output)?.[1]);
  return async () => parse(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

describe('pod pipeline under crashes and at any number of workers', function () {
  this.timeout(300_000);

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // Warnings and errors, and every line about the pods of the ordering test, which are few.
      const notable = (line: string) => /"level":[4-6]\d|phoenix/.test(line);
      for (const s of stacks.flatMap((x) => [x.agent, ...x.workers])) {
        process.stderr.write(`--- ${s.name}:\n${s.output.split('\n').filter(notable).join('\n').slice(-20_000)}\n`);
      }
    }
    await Promise.all(stacks.splice(0).map(stopStack));
  });

  it('SIGKILL a worker in the middle of a 200-pod burst and restart it: every pod Running exactly once in the provider', async () => {
    const stack = await startStack('cs-kill', 1);
    const burst = createPods(stack, names('k', 200));
    await waitFor('burst under way', async () => providerPods(stack).length >= 40, { timeoutMs: 60_000, intervalMs: 50 });
    await stack.workers[0]!.kill();
    const atKill = providerPods(stack).length;
    assert.ok(atKill < 200, `the worker was killed mid-burst (${atKill} in the provider)`);
    stack.workers[0] = ServiceProcess.start('pod-worker', stack.workerArgs);
    await burst;
    await assertAllRunningOnce(stack, 200);
  });

  it('FLUSHALL Redis in the middle of a burst: the resync restores all work, nothing lost, nothing duplicated', async () => {
    const stack = await startStack('cs-flush', 2);
    const burst = createPods(stack, names('f', 200));
    await waitFor('burst under way', async () => providerPods(stack).length >= 40, { timeoutMs: 60_000, intervalMs: 50 });
    const redis = new Redis(stack.redis.url);
    try {
      await redis.flushall();
    } finally {
      redis.disconnect();
    }
    assert.ok(providerPods(stack).length < 200, 'flushed mid-burst');
    await burst;
    await assertAllRunningOnce(stack, 200);
  });

  it('restart the node-agent in the middle of a burst: nothing lost, nothing duplicated', async () => {
    const stack = await startStack('cs-agent', 2);
    const burst = createPods(stack, names('a', 200));
    await waitFor('burst under way', async () => providerPods(stack).length >= 40, { timeoutMs: 60_000, intervalMs: 50 });
    await stack.agent.kill();
    assert.ok(providerPods(stack).length < 200, 'killed mid-burst');
    stack.agent = ServiceProcess.start('node-agent', stack.agentArgs);
    await burst;
    await assertAllRunningOnce(stack, 200);
  });

  it('the periodic resync of a settled node gives no pod a pass, and one whose status was never recorded gets one', async () => {
    const stack = await startStack('cs-resync', 1);
    await createPods(stack, names('r', 30));
    await assertAllRunningOnce(stack, 30);
    const worker = stack.workers[0]!;
    const resyncs = (from: number) => [...worker.output.slice(from).matchAll(/\{[^\n]*"msg":"node resync done"[^\n]*\}/g)]
      .map((m) => JSON.parse(m[0]) as { pods: number; enqueued: number });
    // Wait for two resyncs that saw all 30 pods (the agent resyncs every 5 s).
    const settledAt = worker.output.length;
    const settled = await waitFor('two resyncs of the settled node', async () => {
      const seen = resyncs(settledAt).filter((r) => r.pods === 30);
      return seen.length >= 2 ? seen : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    assert.deepEqual(settled.map((r) => r.enqueued), settled.map(() => 0), 'a settled node resyncs without a per-pod job');
    // Lose one pod's record of its last status (as a Redis flush would): the next resync gives it a pass.
    const redis = new Redis(stack.redis.url);
    try {
      const [uid] = await redis.hkeys(`vk-status:${stack.node}`);
      assert.ok(uid, 'the worker records the status it wrote');
      const lostAt = worker.output.length;
      await redis.hdel(`vk-status:${stack.node}`, uid);
      await waitFor('the pod given a pass by the resync', async () => resyncs(lostAt).some((r) => r.enqueued === 1), { timeoutMs: 30_000, intervalMs: 250 });
      await waitFor('its record restored', async () => (await redis.hexists(`vk-status:${stack.node}`, uid)) === 1, { timeoutMs: 30_000, intervalMs: 250 });
    } finally {
      redis.disconnect();
    }
    await assertAllRunningOnce(stack, 30);
  });

  it('the periodic resync deletes provider pods that no pod object owns, and keeps every pod that has one', async () => {
    const stack = await startStack('cs-orphans', 1);
    await createPods(stack, names('o', 20));
    await assertAllRunningOnce(stack, 20);
    // Containers left behind in the "cloud" (their pod objects force-deleted while the installation was down).
    const orphan = (i: number) => ({ node: stack.node, ref: { namespace: stack.ns, name: `gone-${i}`, uid: `uid-gone-${stack.node}-${i}` }, containers: [], initContainers: [], volumes: [] });
    for (let i = 0; i < 3; i++) env.mock.backend.create(orphan(i));
    await waitFor('the orphans deleted by a node resync', async () => !providerPods(stack).some((p) => p.spec.ref.name.startsWith('gone-')), { timeoutMs: 30_000, intervalMs: 250 });
    await assertAllRunningOnce(stack, 20);
  });

  it('a burst of 100 pods and their deletion cost the API server one write per pod each and no read, as the worker\'s own metrics count', async () => {
    // No node resync during the test: its orphan check reads a pod that the provider listed just before the
    // pod's deletion finished (a GET answered 404), a race that costs a few reads per 10,000 deleted pods.
    const stack = await startStack('cs-cost', 1, { resyncSeconds: 3600 });
    const requests = await workerMetrics(stack.workers[0]!, requestCounts);
    // The worker's cache has listed the node (its one GET) before the burst.
    await waitFor('pod cache listed', async () => ((await requests())['GET 200'] ?? 0) >= 1);
    const before = await requests();
    await createPods(stack, names('c', 100));
    await assertAllRunningOnce(stack, 100);
    const after = await requests();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    assert.equal(delta('PATCH 200'), 100, 'one status PATCH per pod');
    assert.equal(delta('GET 200') + delta('GET 404'), 0, 'pods are read from the worker\'s watch cache, not the API server');
    // Running pods keep only a summary in the cache; a deleted pod is terminating when its job runs, so the
    // watch has brought it whole again.
    await Promise.all(names('c', 100).map((name) => env.client.delete(`/api/v1/namespaces/${stack.ns}/pods/${name}`)));
    await waitFor('every pod gone from the API server and the provider', async () => (await listPods(stack)).length === 0 && providerPods(stack).length === 0,
      { timeoutMs: 120_000, intervalMs: 500 });
    const deleted = await requests();
    const deleteDelta = (key: string) => (deleted[key] ?? 0) - (after[key] ?? 0);
    assert.equal(deleteDelta('DELETE 200'), 100, 'one final DELETE per pod');
    assert.equal(deleteDelta('GET 200') + deleteDelta('GET 404'), 0, 'terminating pods are read from the cache too, and no job asks for a pod already gone');
  });

  it('pods that mount their ServiceAccount token cost one TokenRequest each and no read: the namespace\'s kube-root-ca.crt comes from the worker\'s watch', async () => {
    const stack = await startStack('cs-token', 1, { resyncSeconds: 3600 });
    const requests = await workerMetrics(stack.workers[0]!, requestCounts);
    const mountToken = () => ({ automountServiceAccountToken: true });
    // A first pod, Running, shows the namespace's kube-root-ca.crt published (its projected volume needs it).
    await createPods(stack, ['t-first'], mountToken, 1);
    await waitFor('the first pod Running', async () => (await listPods(stack)).some((p) => p.status?.phase === 'Running'), { timeoutMs: 60_000, intervalMs: 250 });
    const before = await requests();
    await createPods(stack, names('t', 50), mountToken);
    await waitFor('51 pods Running', async () => (await listPods(stack)).filter((p) => p.status?.phase === 'Running').length === 51,
      { timeoutMs: 120_000, intervalMs: 250 });
    const after = await requests();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    assert.equal(delta('POST 201'), 50, 'one TokenRequest per pod (a token is bound to its pod)');
    assert.equal(delta('PATCH 200'), 50, 'one status PATCH per pod');
    assert.equal(delta('GET 200') + delta('GET 404'), 0, 'kube-root-ca.crt is not read per pod');
    const ca = (await env.client.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${stack.ns}/configmaps/kube-root-ca.crt`)).data['ca.crt']!;
    const access = providerPods(stack).find((p) => p.spec.ref.name === 't-000')?.spec.volumes.find((v) => v.name.startsWith('kube-api-access-'));
    assert.equal(access?.files['ca.crt'], createHash('sha256').update(ca).digest('hex'), 'the provider got the namespace\'s CA bundle');
  });

  it('restarting the node-agent of a settled node costs no read: the relist\'s job for each running pod ends on the provider\'s answer', async () => {
    const stack = await startStack('cs-relist', 1);
    await createPods(stack, names('s', 30));
    await assertAllRunningOnce(stack, 30);
    const requests = await workerMetrics(stack.workers[0]!, requestCounts);
    const jobs = await workerMetrics(stack.workers[0]!, jobCounts);
    const before = { requests: await requests(), jobs: await jobs() };
    await stack.agent.stop();
    stack.agent = ServiceProcess.start('node-agent', stack.agentArgs);
    // The new node-agent's first list enqueues a job for every pod (op "resync").
    await waitFor('the relist\'s 30 jobs done', async () => ((await jobs())['resync ok'] ?? 0) - (before.jobs['resync ok'] ?? 0) >= 30,
      { timeoutMs: 60_000, intervalMs: 250 });
    const after = await requests();
    const delta = (key: string) => (after[key] ?? 0) - (before.requests[key] ?? 0);
    assert.equal(delta('GET 200') + delta('GET 404'), 0, 'no pod read from the API server');
    assert.equal(delta('PATCH 200'), 0, 'no status written again');
    await assertAllRunningOnce(stack, 30);
  });

  it('create then delete the same pod within milliseconds, 100 times: nothing left in the provider, no pod stuck', async () => {
    const stack = await startStack('cs-flip', 2);
    const flips = names('flip', 100);
    await Promise.all(flips.map(async (name) => {
      await createPods(stack, [name], () => ({}), 1);
      await env.client.delete(`/api/v1/namespaces/${stack.ns}/pods/${name}`);
    }));
    // And one name re-created 30 times in a row: each generation must go, the last one must run. This caught a
    // status write landing on a generation being force-deleted, which made the API server delete the next
    // generation (see PodReconciler #patchStatus); the watch and the audit trail below say who did what if it recurs.
    const GENERATIONS = 30;
    const seen: string[] = [];
    const watching = new AbortController();
    void env.client.watch<V1Pod>(`/api/v1/namespaces/${stack.ns}/pods`, { fieldSelector: 'metadata.name=phoenix' }, ({ type, object: { metadata: m, status } }) => {
      seen.push(`${new Date().toISOString()} ${type} uid=${m?.uid} rv=${m?.resourceVersion} deletion=${m?.deletionTimestamp ?? '-'} phase=${status?.phase} `
        + `conditions=${(status?.conditions ?? []).map((c) => `${c.type}/${c.reason ?? ''}`).join(',')} writers=${(m?.managedFields ?? []).map((f) => `${f.manager}:${f.operation}:${f.subresource ?? ''}`).join(',')}`);
    }, watching.signal).catch(() => undefined);
    try {
      for (let i = 0; i < GENERATIONS; i++) {
        await createPods(stack, ['phoenix'], () => ({}), 1);
        seen.push(`${new Date().toISOString()} test created generation ${i}`);
        if (i < GENERATIONS - 1) await env.client.delete(`/api/v1/namespaces/${stack.ns}/pods/phoenix`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
      }
    } catch (err) {
      process.stderr.write(`--- phoenix as the API server showed it:\n${seen.join('\n')}\n`);
      process.stderr.write(`--- every write to phoenix in the API server's audit log:\n${auditTrail(stack.ns, 'phoenix').join('\n')}\n`);
      throw err;
    } finally {
      watching.abort();
    }
    await waitFor('only phoenix left, Running, in the API and the provider', async () => {
      const pods = await listPods(stack);
      return pods.length === 1 && pods[0]!.status?.phase === 'Running' && providerPods(stack).length === 1
        && providerPods(stack)[0]!.spec.ref.uid === pods[0]!.metadata!.uid;
    }, { timeoutMs: 60_000, intervalMs: 250 });
  });

  it('gives the same end state with 1, 2 and 4 workers', async () => {
    const endStates: string[] = [];
    for (const workers of [1, 2, 4]) {
      const stack = await startStack(`cs-w${workers}`, workers);
      const all = names('w', 60);
      env.mock.backend.setFaults({ rejectImages: ['registry.example/rejected:1'] });
      await createPods(stack, all, (name) => {
        const i = Number(name.slice(2));
        if (i % 10 === 1) return { containers: [{ name: 'c', image: 'registry.example/rejected:1' }] };
        if (i % 10 === 2) return { containers: [{ name: 'c', image: 'busybox', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } }] }] };
        if (i % 10 === 3) return { initContainers: [{ name: 'init', image: 'busybox' }] };
        return {};
      });
      const waitsForImage = (p: V1Pod) => p.status?.phase === 'Pending' && /^(ErrImagePull|ImagePullBackOff)$/.test(p.status.containerStatuses?.[0]?.state?.waiting?.reason ?? '');
      const settled = (p: V1Pod) => p.status?.phase === 'Running' || p.status?.phase === 'Failed' || waitsForImage(p);
      const pods = await waitFor(`60 pods settled with ${workers} workers`, async () => {
        const items = await listPods(stack);
        return items.length === 60 && items.every(settled) ? items : undefined;
      }, { timeoutMs: 120_000, intervalMs: 500 });
      const state = pods.map((p) => ({
        name: p.metadata!.name, phase: p.status!.phase, reason: p.status!.reason ?? '',
        containers: (p.status!.containerStatuses ?? []).map((c) => `${c.name}:${Object.keys(c.state ?? {}).join()}:${c.ready}`),
        init: (p.status!.initContainerStatuses ?? []).map((c) => `${c.name}:${c.state?.terminated?.reason ?? '-'}`),
        conditions: (p.status!.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort(),
        inProvider: providerPods(stack).some((x) => x.spec.ref.uid === p.metadata!.uid),
      })).sort((a, b) => a.name!.localeCompare(b.name!));
      assert.equal(pods.filter(waitsForImage).length, 6, 'the pods whose image cannot be had wait for it');
      endStates.push(JSON.stringify(state));
      await stopStack(stacks.pop()!);
    }
    env.mock.backend.setFaults({ rejectImages: [] });
    assert.equal(endStates[1], endStates[0], '2 workers end like 1');
    assert.equal(endStates[2], endStates[0], '4 workers end like 1');
  });
});

describe('the node resync\'s view of the queue', () => {
  it('counts a pod as having a job pending while its job waits, is delayed or runs, and no longer once the job completed, failed for good or is gone', async () => {
    const connection = new Redis(env.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<PodJobData>(podQueueName('cs-pending'), { connection });
    const job = (name: string): PodJobData => ({ namespace: 'ns', name, uid: `uid-${name}`, resourceVersion: '1', op: 'create' });
    const add = (name: string, extra: JobsOptions = {}) => queue.add(POD_JOB_NAME, job(name), { ...podJobOptions(job(name)), ...extra });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const worker = new Worker<PodJobData>(queue.name, async (j) => {
      if (j.data.name === 'running') await gate;
      if (j.data.name === 'failed') throw new UnrecoverableError('fails for good');
    }, { connection, concurrency: 1 });
    try {
      const finished = new Set<string>();
      worker.on('completed', (j) => finished.add(j.data.name));
      worker.on('failed', (j) => { if (j) finished.add(j.data.name); });
      await add('done');
      await add('failed');
      await waitFor('both jobs finished', () => finished.has('done') && finished.has('failed'), { timeoutMs: 10_000, intervalMs: 50 });
      await add('running');
      await waitFor('the blocking job active', async () => (await queue.getActiveCount()) === 1, { timeoutMs: 10_000, intervalMs: 50 });
      await add('waiting');
      await add('delayed', { delay: 600_000 });
      // A stray deduplication key: its job's hash is gone (lost outside BullMQ), the key stayed.
      const stray = await add('stray', { delay: 600_000 });
      await connection.del(queue.toKey(stray.id!));
      const pending = new PendingJobs(connection, queue.toKey(''));
      const lost = await pending.withoutPendingJob(['waiting', 'delayed', 'running', 'done', 'failed', 'never', 'stray'].map(job));
      assert.deepEqual(lost.map((j) => j.name), ['done', 'failed', 'never', 'stray']);
    } finally {
      release();
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });

  it('runs a pod\'s job at once when a new event for the pod arrives while the job waits out a retry backoff', async () => {
    const connection = new Redis(env.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<PodJobData>(podQueueName('cs-backoff'), { connection });
    const data: PodJobData = { namespace: 'ns', name: 'backs-off', uid: 'uid-b', resourceVersion: '1', op: 'create' };
    const passes: number[] = [];
    const worker = new Worker<PodJobData>(queue.name, async () => {
      passes.push(Date.now());
      // The first attempt fails (a Secret not there yet, a throttled provider): the job is retried after a backoff.
      if (passes.length === 1) throw new Error('not yet');
    }, { connection, concurrency: 1 });
    try {
      await queue.add(POD_JOB_NAME, data, { ...podJobOptions(data), backoff: { type: 'fixed', delay: 600_000 } });
      await waitFor('the job waiting out its backoff', async () => (await queue.getDelayedCount()) === 1, { timeoutMs: 10_000, intervalMs: 50 });
      // `kubectl delete pod` meanwhile: the watcher's event for the same pod.
      await queue.add(POD_JOB_NAME, { ...data, resourceVersion: '2', op: 'delete' }, { ...podJobOptions(data), backoff: { type: 'fixed', delay: 600_000 } });
      await waitFor('a second pass, long before the backoff ends', () => passes.length === 2, { timeoutMs: 10_000, intervalMs: 50 });
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});
