#!/usr/bin/env node
// Composition root of kubelet-api: the only place that reads the environment.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import {
  ConfigProblems, KubeRestClient, LOG_LEVELS, PROJECT_VERSION, createLogger, createMetricsRegistry, installGracefulShutdown, loadKubeConfig,
} from '@vk-ts/core';
import { createProvider, readProviderConfig, validateProviderConfig, type ProviderName } from '@vk-ts/provider-registry';
import { buildApp } from './app.ts';

const program = new Command('vk-kubelet-api')
  .description('The kubelet HTTP surface the API server calls for logs, exec, stats and metrics.')
  .version(PROJECT_VERSION)
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig file; in-cluster service account when absent').env('KUBECONFIG'))
  .addOption(new Option('--nodename <name>', 'name of the virtual node served').default('virtual-kubelet').env('DEFAULT_NODE_NAME'))
  .addOption(new Option('--provider <name>', 'provider: mock').default('mock').env('VKUBELET_PROVIDER'))
  .addOption(new Option('--provider-config <file>', 'provider config file (TOML); without it only /healthz, /readyz and /metrics are served').env('VKUBELET_PROVIDER_CONFIG'))
  .addOption(new Option('--host <host>', 'listen address').default('0.0.0.0').env('KUBELET_API_HOST'))
  .addOption(new Option('--port <port>', 'listen port').default(10250).argParser(Number).env('KUBELET_PORT'))
  .addOption(new Option('--tls-cert-file <file>', 'serving certificate (PEM)').env('APISERVER_CERT_LOCATION'))
  .addOption(new Option('--tls-key-file <file>', 'serving key (PEM)').env('APISERVER_KEY_LOCATION'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL'))
  .showHelpAfterError();
program.parse();
const opts = program.opts<{
  kubeconfig?: string; nodename: string; provider: string; providerConfig?: string; host: string; port: number;
  tlsCertFile?: string; tlsKeyFile?: string; logLevel: 'info';
}>();

const logger = createLogger({ service: 'kubelet-api', level: opts.logLevel });
const registry = createMetricsRegistry('kubelet-api');
const problems = new ConfigProblems();
let https: { cert: Buffer; key: Buffer } | undefined;
if (opts.tlsCertFile || opts.tlsKeyFile) {
  if (!opts.tlsCertFile || !opts.tlsKeyFile) problems.add('--tls-cert-file/--tls-key-file', 'give both or neither');
  else {
    try {
      https = { cert: readFileSync(opts.tlsCertFile), key: readFileSync(opts.tlsKeyFile) };
    } catch (err) {
      problems.add('--tls-cert-file/--tls-key-file', `cannot read: ${(err as Error).message}`);
    }
  }
}
const providerConfig = opts.providerConfig ? readProviderConfig(opts.providerConfig, '--provider-config', problems) : undefined;
if (providerConfig) validateProviderConfig(opts.provider, providerConfig, '--provider-config', problems);
let deps: Parameters<typeof buildApp>[0] = { logger, registry, https };
try {
  problems.throwIfAny('kubelet-api configuration');
  if (providerConfig) {
    const client = await KubeRestClient.create({
      kubeConfig: loadKubeConfig({ kubeconfigPath: opts.kubeconfig }), qps: 50, burst: 100,
      userAgent: `virtual-kubelet-ts/${PROJECT_VERSION} kubelet-api`,
    });
    const provider = createProvider({ provider: opts.provider as ProviderName, nodeName: opts.nodename, operatingSystem: 'linux', internalIP: '127.0.0.1', config: providerConfig });
    deps = { ...deps, client, provider, nodeName: opts.nodename };
  }
} catch (err) {
  process.stderr.write(`vk-kubelet-api: ${(err as Error).message}\n`);
  process.exit(2);
}
if (!https) logger.warn('no --tls-cert-file/--tls-key-file: serving plain HTTP; the API server only talks HTTPS to kubelets (CSR bootstrap is not built yet)');
logger.warn('authentication and authorization are not built yet: every request is served');
const app = buildApp(deps);
installGracefulShutdown({ logger, timeoutMs: 4000, close: async () => { await app.close(); deps.client?.close(); } });
await app.listen({ host: opts.host, port: opts.port });
