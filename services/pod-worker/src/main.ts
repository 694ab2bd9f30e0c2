#!/usr/bin/env node
// Composition root of pod-worker: the only place that reads the environment.
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  ConfigProblems, EventRecorder, HealthServer, KubeRestClient, LOG_LEVELS, PROJECT_VERSION, createLogger,
  createMetricsRegistry, installGracefulShutdown, loadKubeConfig, podQueueName, type PodJobData,
} from '@vk-ts/core';
import { createProvider, readProviderConfig, validateProviderConfig, type ProviderName } from '@vk-ts/provider-registry';
import { PodReconciler } from './pod-reconciler.ts';

const program = new Command('vk-pod-worker')
  .description('Consumes pod reconcile jobs from Redis and drives the provider (scale it for bursts).')
  .version(PROJECT_VERSION)
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig file; in-cluster service account when absent').env('KUBECONFIG'))
  .addOption(new Option('--redis-url <url>', 'Redis holding the work queue').default('redis://127.0.0.1:6379').env('REDIS_URL'))
  .addOption(new Option('--nodename <name>', 'virtual node whose queue this worker consumes').default('virtual-kubelet').env('DEFAULT_NODE_NAME'))
  .addOption(new Option('--provider <name>', 'provider: mock').default('mock').env('VKUBELET_PROVIDER'))
  .addOption(new Option('--provider-config <file>', 'provider config file (TOML)').env('VKUBELET_PROVIDER_CONFIG'))
  .addOption(new Option('--internal-ip <ip>', 'the node\'s InternalIP, reported as pods\' hostIP').default('127.0.0.1').env('VKUBELET_POD_IP'))
  .addOption(new Option('--concurrency <n>', 'pods worked at once by this process').default(16).argParser(Number).env('VKUBELET_WORKER_CONCURRENCY'))
  .addOption(new Option('--kube-api-qps <qps>', 'client-side QPS limit (<= 0: none)').default(100).argParser(Number).env('VKUBELET_KUBE_API_QPS'))
  .addOption(new Option('--kube-api-burst <n>', 'client-side burst').default(200).argParser(Number).env('VKUBELET_KUBE_API_BURST'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL'))
  .addOption(new Option('--health-host <host>', 'address of the /healthz, /readyz and /metrics server').default('0.0.0.0').env('VKUBELET_HEALTH_HOST'))
  .addOption(new Option('--health-port <port>', 'port of the /healthz, /readyz and /metrics server (0 = any free port)').default(8081).argParser(Number).env('VKUBELET_HEALTH_PORT'))
  .addOption(new Option('--shutdown-timeout-ms <ms>', 'how long in-flight work may drain after SIGTERM').default(4000).argParser(Number).env('VKUBELET_SHUTDOWN_TIMEOUT_MS'))
  .showHelpAfterError();
program.parse();
const opts = program.opts<{
  kubeconfig?: string; redisUrl: string; nodename: string; provider: string; providerConfig?: string; internalIp: string;
  concurrency: number; kubeApiQps: number; kubeApiBurst: number; logLevel: 'info'; healthHost: string; healthPort: number; shutdownTimeoutMs: number;
}>();

const logger = createLogger({ service: 'pod-worker', level: opts.logLevel });
const problems = new ConfigProblems();
const providerConfig = opts.providerConfig ? readProviderConfig(opts.providerConfig, '--provider-config', problems) : {};
validateProviderConfig(opts.provider, providerConfig, '--provider-config', problems);
if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) problems.add('--concurrency', 'must be an integer >= 1');
let client: KubeRestClient;
try {
  problems.throwIfAny('pod-worker configuration');
  client = await KubeRestClient.create({
    kubeConfig: loadKubeConfig({ kubeconfigPath: opts.kubeconfig }), qps: opts.kubeApiQps, burst: opts.kubeApiBurst,
    userAgent: `virtual-kubelet-ts/${PROJECT_VERSION} pod-worker`, registry: undefined,
  });
} catch (err) {
  process.stderr.write(`vk-pod-worker: ${(err as Error).message}\n`);
  process.exit(2);
}

const registry = createMetricsRegistry('pod-worker');
const provider = createProvider({
  provider: opts.provider as ProviderName, nodeName: opts.nodename, operatingSystem: 'linux', internalIP: opts.internalIp, config: providerConfig,
});
const reconciler = new PodReconciler({
  client, provider, logger, nodeName: opts.nodename, events: new EventRecorder(client, { logger, host: hostname() }),
});
// BullMQ needs maxRetriesPerRequest: null so blocking commands survive reconnects.
const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
const worker = new Worker<PodJobData>(podQueueName(opts.nodename), async (job) => {
  const log = logger.child({ pod: `${job.data.namespace}/${job.data.name}`, jobId: job.id, op: job.data.op });
  try {
    await reconciler.reconcile(job.data);
  } catch (err) {
    log.warn({ err, attempt: job.attemptsMade + 1 }, 'reconcile failed');
    throw err;
  }
}, { connection: redis, concurrency: opts.concurrency });
worker.on('error', (err) => logger.warn({ err }, 'worker error'));

const health = new HealthServer({ host: opts.healthHost, port: opts.healthPort, registry, readiness: { queue: () => worker.isRunning() }, logger });
installGracefulShutdown({
  logger,
  timeoutMs: opts.shutdownTimeoutMs,
  close: async () => {
    await worker.close();
    redis.disconnect();
    await provider.close();
    await health.close();
    client.close();
  },
});
await health.start();
logger.info({ node: opts.nodename, concurrency: opts.concurrency }, 'pod-worker started');
