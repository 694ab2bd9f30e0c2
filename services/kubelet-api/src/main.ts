#!/usr/bin/env node
// Composition root of kubelet-api: the only place that reads the environment.
import { Command, Option } from 'commander';
import { LOG_LEVELS, createLogger, createMetricsRegistry, installGracefulShutdown } from '@vk-ts/core';
import { buildApp } from './app.ts';

const program = new Command('vk-kubelet-api')
  .description('The kubelet HTTP surface the API server calls for logs, exec, stats and metrics.')
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig file; in-cluster service account when absent').env('KUBECONFIG'))
  .addOption(new Option('--nodename <name>', 'name of the virtual node served').default('virtual-kubelet').env('DEFAULT_NODE_NAME'))
  .addOption(new Option('--provider <name>', 'provider: mock').default('mock').env('VKUBELET_PROVIDER'))
  .addOption(new Option('--host <host>', 'listen address').default('0.0.0.0').env('KUBELET_API_HOST'))
  .addOption(new Option('--port <port>', 'listen port').default(10250).argParser(Number).env('KUBELET_PORT'))
  .addOption(new Option('--tls-cert-file <file>', 'serving certificate (PEM)').env('APISERVER_CERT_LOCATION'))
  .addOption(new Option('--tls-key-file <file>', 'serving key (PEM)').env('APISERVER_KEY_LOCATION'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL'))
  .showHelpAfterError();
program.parse();
const opts = program.opts<{ host: string; port: number; tlsCertFile?: string; tlsKeyFile?: string; logLevel: 'info' }>();

const logger = createLogger({ service: 'kubelet-api', level: opts.logLevel });
const registry = createMetricsRegistry('kubelet-api');
const app = buildApp({ logger, registry });
if (!opts.tlsCertFile || !opts.tlsKeyFile) {
  logger.warn('no --tls-cert-file/--tls-key-file: serving plain HTTP (TLS and CSR bootstrap are not built yet)');
}
installGracefulShutdown({ logger, timeoutMs: 4000, close: () => app.close() });
await app.listen({ host: opts.host, port: opts.port });
