import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { PodJobMetrics } from '../src/pod-job-metrics.ts';

/** The value of one sample of `name` whose labels include `labels` (undefined when none). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''));
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => ((v as { metricName?: string }).metricName ?? name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

/** A 127.0.0.1 port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const job = (fields: { timestamp: number; processedOn?: number; attemptsStarted: number; delay?: number }) =>
  ({ timestamp: fields.timestamp, processedOn: fields.processedOn, attemptsStarted: fields.attemptsStarted, opts: { delay: fields.delay } });

describe('pod job metrics', () => {
  it('reads the queue\'s counts by state on scrape', async () => {
    const registry = new Registry();
    const queue = { getJobCounts: async () => ({ waiting: 7, active: 2, delayed: 1, failed: 0 }) };
    new PodJobMetrics({ registry, queue });
    const text = await registry.metrics();
    assert.match(text, /^vk_pod_queue_jobs\{state="waiting"\} 7$/m);
    assert.match(text, /^vk_pod_queue_jobs\{state="active"\} 2$/m);
    assert.match(text, /^vk_pod_queue_jobs\{state="failed"\} 0$/m);
  });

  it('answers a scrape within its count timeout when Redis never answers, keeping the last counts', async () => {
    const registry = new Registry();
    let answer = true;
    const queue = { getJobCounts: () => (answer ? Promise.resolve({ waiting: 3 }) : new Promise<never>(() => undefined)) };
    new PodJobMetrics({ registry, queue, countTimeoutMs: 100 });
    await registry.metrics();
    answer = false;
    const startedAt = performance.now();
    const text = await registry.metrics();
    assert.ok(performance.now() - startedAt < 1000, `scrape took ${Math.round(performance.now() - startedAt)} ms`);
    assert.match(text, /^vk_pod_queue_jobs\{state="waiting"\} 3$/m);
  });

  it('answers a scrape at once with a real queue whose Redis is down, and adds nothing to the connection\'s offline queue', async () => {
    const redis = new Redis(await closedPort(), '127.0.0.1', { maxRetriesPerRequest: null, retryStrategy: () => 1000 });
    redis.on('error', () => undefined);
    const queue = new Queue('vk-test-metrics', { connection: redis });
    queue.on('error', () => undefined);
    try {
      const registry = new Registry();
      new PodJobMetrics({ registry, queue, connected: () => redis.status === 'ready', countTimeoutMs: 5000 });
      const startedAt = performance.now();
      const text = await registry.metrics();
      assert.ok(performance.now() - startedAt < 1000, `scrape took ${Math.round(performance.now() - startedAt)} ms`);
      assert.doesNotMatch(text, /^vk_pod_queue_jobs\{/m);
      assert.equal((redis as unknown as { offlineQueue: { length: number } }).offlineQueue.length, 0);
    } finally {
      await queue.close().catch(() => undefined);
      redis.disconnect();
    }
  });

  it('times each job by op and result, counting it in vk_pod_jobs_total too', async () => {
    const registry = new Registry();
    const metrics = new PodJobMetrics({ registry, queue: { getJobCounts: async () => ({}) } });
    const now = Date.now();
    metrics.finished('create', 'ok', metrics.started('create', job({ timestamp: now, processedOn: now, attemptsStarted: 1 })));
    metrics.finished('delete', 'requeued', metrics.started('delete', job({ timestamp: now, processedOn: now, attemptsStarted: 1 })));
    assert.equal(await sample(registry, 'vk_pod_jobs_total', { op: 'create', result: 'ok' }), 1);
    assert.equal(await sample(registry, 'vk_pod_job_duration_seconds_count', { op: 'create', result: 'ok' }), 1);
    assert.equal(await sample(registry, 'vk_pod_job_duration_seconds_count', { op: 'delete', result: 'requeued' }), 1);
  });

  it('measures the wait of a job\'s first run from its creation or the end of its delay, and skips later runs', async () => {
    const registry = new Registry();
    const metrics = new PodJobMetrics({ registry, queue: { getJobCounts: async () => ({}) } });
    const t = 1_700_000_000_000;
    metrics.started('create', job({ timestamp: t, processedOn: t + 1500, attemptsStarted: 1 }));
    metrics.started('update', job({ timestamp: t, processedOn: t + 2500, attemptsStarted: 1, delay: 2000 }));
    metrics.started('create', job({ timestamp: t, processedOn: t + 60_000, attemptsStarted: 2 }));
    assert.equal(await sample(registry, 'vk_pod_job_wait_seconds_count', { op: 'create' }), 1);
    assert.equal(await sample(registry, 'vk_pod_job_wait_seconds_sum', { op: 'create' }), 1.5);
    assert.equal(await sample(registry, 'vk_pod_job_wait_seconds_sum', { op: 'update' }), 0.5);
  });
});
