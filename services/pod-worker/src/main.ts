#!/usr/bin/env node
// Composition root of pod-worker: the only place that reads the environment.
import { Command, Option } from 'commander';
import {
  HealthServer, LOG_LEVELS, createLogger, createMetricsRegistry, installGracefulShutdown,
} from '@vk-ts/core';

const program = new Command('vk-pod-worker')
  .description('Consumes pod reconcile jobs from Redis and drives the provider (scale it for bursts).')
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig file; in-cluster service account when absent').env('KUBECONFIG'))
  .addOption(new Option('--redis-url <url>', 'Redis holding the work queue').default('redis://127.0.0.1:6379').env('REDIS_URL'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL'))
  .addOption(new Option('--health-host <host>', 'address of the /healthz, /readyz and /metrics server').default('0.0.0.0').env('VKUBELET_HEALTH_HOST'))
  .addOption(new Option('--health-port <port>', 'port of the /healthz, /readyz and /metrics server (0 = any free port)').default(8081).argParser(Number).env('VKUBELET_HEALTH_PORT'))
  .addOption(new Option('--shutdown-timeout-ms <ms>', 'how long in-flight work may drain after SIGTERM').default(4000).argParser(Number).env('VKUBELET_SHUTDOWN_TIMEOUT_MS'))
  .showHelpAfterError();
program.parse();
const opts = program.opts<{ logLevel: 'info'; healthHost: string; healthPort: number; shutdownTimeoutMs: number }>();

const logger = createLogger({ service: 'pod-worker', level: opts.logLevel });
const registry = createMetricsRegistry('pod-worker');
const health = new HealthServer({ host: opts.healthHost, port: opts.healthPort, registry, readiness: {}, logger });
installGracefulShutdown({ logger, timeoutMs: opts.shutdownTimeoutMs, close: () => health.close() });
await health.start();
logger.info('pod-worker started');
