#!/usr/bin/env node
// Composition root of pod-worker: the only place that reads the environment.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  ConfigProblems, EventRecorder, HealthServer, KubeRestClient, LOG_LEVELS, PROJECT_VERSION, createLogger,
  POD_JOB_NAME, createMetricsRegistry, installGracefulShutdown, loadKubeConfig, inClusterServer, podDeadlineJobOptions, podJobOptions, podQueueName, type PodJobData,
} from '@vk-ts/core';
import { createProvider, readProviderConfig, validateProviderConfig, type ProviderName } from '@vk-ts/provider-registry';
import { PodCache } from './pod-cache.ts';
import { NodeResync } from './node-resync.ts';
import { PendingJobs } from './pending-jobs.ts';
import { PodJobMetrics } from './pod-job-metrics.ts';
import { PodLocks } from './pod-lock.ts';
import { PodReconciler } from './pod-reconciler.ts';
import { RootCaBundles } from './root-ca-bundles.ts';
import { ServiceEnvironment } from './service-environment.ts';
import { StatusDigests } from './status-digests.ts';
import { StatusSync } from './status-sync.ts';

const program = new Command('vk-pod-worker')
  .description('Consumes pod reconcile jobs from Redis and drives the provider (scale it for bursts).')
  .version(PROJECT_VERSION)
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig file; in-cluster service account when absent').env('KUBECONFIG'))
  .addOption(new Option('--redis-url <url>', 'Redis holding the work queue').default('redis://127.0.0.1:6379').env('REDIS_URL'))
  .addOption(new Option('--nodename <name>', 'virtual node whose queue this worker consumes').default('virtual-kubelet').env('DEFAULT_NODE_NAME'))
  .addOption(new Option('--provider <name>', 'provider: mock').default('mock').env('VKUBELET_PROVIDER'))
  .addOption(new Option('--provider-config <file>', 'provider config file (TOML)').env('VKUBELET_PROVIDER_CONFIG'))
  .addOption(new Option('--internal-ip <ip>', 'the node\'s InternalIP, reported as pods\' hostIP').default('127.0.0.1').env('VKUBELET_POD_IP'))
  .addOption(new Option('--concurrency <n>', 'pods worked at once by this process').default(16).env('VKUBELET_WORKER_CONCURRENCY'))
  .addOption(new Option('--job-lock-ms <ms>', 'BullMQ job lock: a crashed worker\'s jobs are retried this long (plus --stalled-interval-ms) after it died').default(30000).env('VKUBELET_JOB_LOCK_MS'))
  .addOption(new Option('--stalled-interval-ms <ms>', 'how often this worker looks for jobs of crashed workers').default(30000).env('VKUBELET_STALLED_INTERVAL_MS'))
  .addOption(new Option('--kube-api-qps <qps>', 'client-side QPS limit (<= 0: none)').default(100).env('VKUBELET_KUBE_API_QPS'))
  .addOption(new Option('--kube-api-burst <n>', 'client-side burst').default(200).env('VKUBELET_KUBE_API_BURST'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL'))
  .addOption(new Option('--health-host <host>', 'address of the /healthz, /readyz and /metrics server').default('0.0.0.0').env('VKUBELET_HEALTH_HOST'))
  .addOption(new Option('--health-port <port>', 'port of the /healthz, /readyz and /metrics server (0 = any free port)').default(8081).env('VKUBELET_HEALTH_PORT'))
  .addOption(new Option('--shutdown-timeout-ms <ms>', 'how long in-flight work may drain after SIGTERM before the worker exits 1 (keep it below the pod\'s terminationGracePeriodSeconds, 30 s by default)').default(25000).env('VKUBELET_SHUTDOWN_TIMEOUT_MS'))
  .showHelpAfterError();
program.parse();
/** A number flag: its default (a number, so --help shows it plainly) or the text given; ConfigProblems reads both. */
type Num = string | number;
const raw = program.opts<{
  kubeconfig?: string; redisUrl: string; nodename: string; provider: string; providerConfig?: string; internalIp: string;
  concurrency: Num; jobLockMs: Num; stalledIntervalMs: Num; kubeApiQps: Num; kubeApiBurst: Num; logLevel: 'info'; healthHost: string; healthPort: Num; shutdownTimeoutMs: Num;
}>();

const logger = createLogger({ service: 'pod-worker', level: raw.logLevel });
const problems = new ConfigProblems();
const providerConfig = raw.providerConfig ? readProviderConfig(raw.providerConfig, '--provider-config', problems) : {};
validateProviderConfig(raw.provider, providerConfig, '--provider-config', problems);
if (!isIP(raw.internalIp)) problems.add('--internal-ip', `"${raw.internalIp}" is not an IP address`);
// <= 0 turns the client-side limit off (as --help says), so there is no minimum.
const kubeApiQps = problems.finiteNumber('--kube-api-qps', raw.kubeApiQps, '<= 0: no limit');
const opts = {
  ...raw,
  concurrency: problems.integer('--concurrency', raw.concurrency, 1),
  jobLockMs: problems.integer('--job-lock-ms', raw.jobLockMs, 1000),
  stalledIntervalMs: problems.integer('--stalled-interval-ms', raw.stalledIntervalMs, 1000),
  kubeApiQps,
  kubeApiBurst: problems.integer('--kube-api-burst', raw.kubeApiBurst, 1),
  healthPort: problems.integer('--health-port', raw.healthPort, 0, 65535),
  shutdownTimeoutMs: problems.integer('--shutdown-timeout-ms', raw.shutdownTimeoutMs, 0),
};
const registry = createMetricsRegistry('pod-worker');
let client: KubeRestClient;
try {
  problems.throwIfAny('pod-worker configuration');
  client = await KubeRestClient.create({
    kubeConfig: loadKubeConfig({ kubeconfigPath: opts.kubeconfig, inClusterServer: inClusterServer(process.env['KUBERNETES_SERVICE_HOST'], process.env['KUBERNETES_SERVICE_PORT']) }), qps: opts.kubeApiQps, burst: opts.kubeApiBurst,
    userAgent: `virtual-kubelet-ts/${PROJECT_VERSION} pod-worker`, registry,
  });
} catch (err) {
  process.stderr.write(`vk-pod-worker: ${(err as Error).message}\n`);
  process.exit(2);
}

const provider = createProvider({
  provider: opts.provider as ProviderName, nodeName: opts.nodename, operatingSystem: 'linux', internalIP: opts.internalIp, config: providerConfig,
}, { registry });
// BullMQ needs maxRetriesPerRequest: null so blocking commands survive reconnects.
const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
// The pod locks and status records get a connection of their own with auto-pipelining: the commands that
// concurrent jobs issue in one event-loop turn leave in one write. BullMQ keeps a plain connection: users
// report lost job data and lock errors with BullMQ on auto-pipelined connections.
const stateRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
stateRedis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
const digests = new StatusDigests(stateRedis, opts.nodename);
const cache = new PodCache({ client, nodeName: opts.nodename, logger });
cache.start();
const rootCa = new RootCaBundles(client, logger);
rootCa.start();
const services = new ServiceEnvironment(client, logger);
services.start();
const reconciler = new PodReconciler({
  client, provider, logger, nodeName: opts.nodename, digests, cache, rootCa, services, events: new EventRecorder(client, { logger, host: hostname() }),
  scheduleDeadline: async (data, atMs) => { await queue.add(POD_JOB_NAME, data, podDeadlineJobOptions(data, atMs - Date.now())); },
});
// The pod lock outlives BullMQ's job lock: a job re-run after a stall waits for the first run instead of racing it.
const locks = new PodLocks(stateRedis, opts.nodename, 2 * opts.jobLockMs);
const queue = new Queue<PodJobData>(podQueueName(opts.nodename), { connection: redis });
queue.on('error', (err) => logger.warn({ err }, 'queue error'));
const enqueue = async (data: PodJobData): Promise<void> => { await queue.add(POD_JOB_NAME, data, podJobOptions(data)); };
const statusSync = new StatusSync({ provider, digests, logger, enqueue, cache });
const pendingJobs = new PendingJobs(stateRedis, queue.toKey(''));
const nodeResync = new NodeResync({ client, provider, digests, cache, enqueue, pendingJobs, nodeName: opts.nodename, logger });
const jobMetrics = new PodJobMetrics({ registry, queue, connected: () => redis.status === 'ready' });
const workerId = `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;

async function processJob(job: Job<PodJobData>, token: string | undefined): Promise<void> {
  const op = job.data.name === '' ? (job.data.op === 'status' ? 'status-sync' : 'node-resync') : job.data.op;
  const startedAt = jobMetrics.started(op, job);
  try {
    await runJob(job, token);
    jobMetrics.finished(op, 'ok', startedAt);
  } catch (err) {
    jobMetrics.finished(op, err instanceof DelayedError ? 'requeued' : 'error', startedAt);
    throw err;
  }
}

async function runJob(job: Job<PodJobData>, token: string | undefined): Promise<void> {
  const data = job.data;
  if (data.name === '' && data.op === 'status') {
    await statusSync.run();
    return;
  }
  if (data.name === '' && data.op === 'resync') {
    await nodeResync.run();
    return;
  }
  const log = logger.child({ pod: `${data.namespace}/${data.name}`, jobId: job.id, op: data.op });
  const lockToken = `${workerId}:${job.id ?? ''}`;
  if (!(await locks.acquire(data, lockToken))) {
    // Another run of this pod is still going (a stalled job handed out twice): come back shortly, without using an attempt.
    log.info('pod is locked by another run; delaying');
    await job.moveToDelayed(Date.now() + 500 + Math.floor(Math.random() * 500), token);
    throw new DelayedError();
  }
  let requeueAfterMs: number | undefined;
  try {
    ({ requeueAfterMs } = await reconciler.reconcile(data, { finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1), attempt: job.attemptsMade + 1 }));
  } catch (err) {
    log.warn({ err, attempt: job.attemptsMade + 1 }, 'reconcile failed');
    throw err;
  } finally {
    await locks.release(data, lockToken).then(
      (held) => { if (!held) log.warn('the pod lock had expired before this pass ended: another pass may have run beside it (is the job lock longer than a pass takes?)'); },
      (err: unknown) => log.warn({ err }, 'cannot release the pod lock; it expires by itself'),
    );
  }
  if (requeueAfterMs !== undefined) {
    await job.moveToDelayed(Date.now() + requeueAfterMs, token);
    throw new DelayedError();
  }
}

const worker = new Worker<PodJobData>(podQueueName(opts.nodename), processJob, {
  connection: redis, concurrency: opts.concurrency, lockDuration: opts.jobLockMs, stalledInterval: opts.stalledIntervalMs,
});
worker.on('error', (err) => logger.warn({ err }, 'worker error'));

const health = new HealthServer({ host: opts.healthHost, port: opts.healthPort, registry, readiness: {
  queue: () => worker.isRunning(),
  redis: () => redis.status === 'ready',
  // Without the first list of Services (RBAC refusing it, say) no pod can be created: said here, not only on each pod.
  services: () => services.synced,
}, logger });
installGracefulShutdown({
  logger,
  timeoutMs: opts.shutdownTimeoutMs,
  close: async () => {
    await worker.close();
    await queue.close();
    await cache.close();
    await rootCa.close();
    await services.close();
    redis.disconnect();
    stateRedis.disconnect();
    await provider.close();
    await health.close();
    client.close();
  },
});
await health.start();
logger.info({ node: opts.nodename, concurrency: opts.concurrency }, 'pod-worker started');
