#!/usr/bin/env node
// Composition root of kubelet-api: the only place that reads the environment.
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { Command, Option } from 'commander';
import {
  ConfigProblems, HealthServer, KubeRestClient, LOG_LEVELS, PROJECT_VERSION, createLogger, createMetricsRegistry, installGracefulShutdown, loadKubeConfig, inClusterServer,
  type Provider,
} from '@vk-ts/core';
import { checkProviderName, createProvider, readProviderConfig, validateProviderConfig, type ProviderName } from '@vk-ts/provider-registry';
import { buildApp, type AppAuth } from './app.ts';
import { RequestAuthenticator } from './auth/request-authenticator.ts';
import { SubjectAccessReviewer } from './auth/subject-access-reviewer.ts';
import { TokenReviewer } from './auth/token-reviewer.ts';
import { CertificateFileWatcher } from './tls/certificate-file-watcher.ts';
import { CsrBootstrapper } from './tls/csr-bootstrapper.ts';
import { applyServingMaterial, type ServingMaterial } from './tls/serving-material.ts';

const program = new Command('vk-kubelet-api')
  .description('The kubelet HTTPS surface the API server calls for logs, stats, metrics and pods, with the kubelet\'s authentication and authorization.')
  .version(PROJECT_VERSION)
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig file; in-cluster service account when absent').env('KUBECONFIG'))
  .addOption(new Option('--nodename <name>', 'name of the virtual node served').default('virtual-kubelet').env('DEFAULT_NODE_NAME'))
  .addOption(new Option('--provider <name>', 'provider: mock').default('mock').env('VKUBELET_PROVIDER'))
  .addOption(new Option('--provider-config <file>', 'provider config file (TOML), required: the kubelet port serves logs, stats and pods from the provider').env('VKUBELET_PROVIDER_CONFIG'))
  .addOption(new Option('--host <host>', 'listen address of the kubelet port').default('0.0.0.0').env('KUBELET_API_HOST'))
  .addOption(new Option('--port <port>', 'kubelet port (HTTPS)').default(10250).env('KUBELET_PORT'))
  .addOption(new Option('--tls-cert-file <file>', 'serving certificate (PEM), reloaded when it changes; absent: requested with a CertificateSigningRequest').env('APISERVER_CERT_LOCATION'))
  .addOption(new Option('--tls-key-file <file>', 'serving key (PEM), reloaded with the certificate').env('APISERVER_KEY_LOCATION'))
  .addOption(new Option('--client-ca-file <file>', 'CA bundle that client certificates must chain to (default: the cluster CA of the kubeconfig or service account)').env('APISERVER_CA_CERT_LOCATION'))
  .addOption(new Option('--cert-dir <dir>', 'where a CSR-issued serving certificate and key are kept across restarts (default: memory only)').env('KUBELET_API_CERT_DIR'))
  .addOption(new Option('--tls-san <names>', 'extra SANs (comma-separated IPs and DNS names) for a CSR-issued certificate, besides the node\'s addresses').default('').env('KUBELET_API_TLS_SANS'))
  .addOption(new Option('--anonymous-auth [true|false]', 'treat requests without credentials as system:anonymous (then authorized) instead of answering 401').preset(true).default(false).env('KUBELET_API_ANONYMOUS_AUTH'))
  .addOption(new Option('--insecure-no-auth [true|false]', 'serve every request without authentication or authorization: local experiments only').preset(true).default(false).env('KUBELET_API_INSECURE_NO_AUTH'))
  .addOption(new Option('--authentication-cache-ttl-seconds <s>', 'how long a TokenReview answer is reused (rejections: at most 10 s)').default(120).env('KUBELET_API_AUTHENTICATION_CACHE_TTL_SECONDS'))
  .addOption(new Option('--authorization-allowed-cache-ttl-seconds <s>', 'how long an allowing SubjectAccessReview answer is reused').default(300).env('KUBELET_API_AUTHORIZATION_ALLOWED_CACHE_TTL_SECONDS'))
  .addOption(new Option('--authorization-denied-cache-ttl-seconds <s>', 'how long a denying SubjectAccessReview answer is reused').default(30).env('KUBELET_API_AUTHORIZATION_DENIED_CACHE_TTL_SECONDS'))
  .addOption(new Option('--health-host <host>', 'address of the plain-HTTP /healthz, /readyz and /metrics server (no authentication, for probes)').default('0.0.0.0').env('KUBELET_API_HEALTH_HOST'))
  .addOption(new Option('--health-port <port>', 'port of the health server (0 = any free port)').default(10248).env('KUBELET_API_HEALTH_PORT'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL'))
  .showHelpAfterError();
program.parse();
/** A number flag: its default (a number, so --help shows it plainly) or the text given; ConfigProblems reads both. */
type Num = string | number;
const opts = program.opts<{
  kubeconfig?: string; nodename: string; provider: string; providerConfig?: string; host: string; port: string | number;
  tlsCertFile?: string; tlsKeyFile?: string; clientCaFile?: string; certDir?: string; tlsSan: string;
  anonymousAuth: boolean | string; insecureNoAuth: boolean | string;
  authenticationCacheTtlSeconds: Num; authorizationAllowedCacheTtlSeconds: Num; authorizationDeniedCacheTtlSeconds: Num;
  healthHost: string; healthPort: string | number; logLevel: 'info';
}>();

const logger = createLogger({ service: 'kubelet-api', level: opts.logLevel });
const registry = createMetricsRegistry('kubelet-api');
const problems = new ConfigProblems();
const anonymousAuth = problems.boolean('--anonymous-auth', opts.anonymousAuth);
const insecureNoAuth = problems.boolean('--insecure-no-auth', opts.insecureNoAuth);
if (Boolean(opts.tlsCertFile) !== Boolean(opts.tlsKeyFile)) problems.add('--tls-cert-file/--tls-key-file', 'give both or neither');
const authenticationCacheTtlSeconds = problems.number('--authentication-cache-ttl-seconds', opts.authenticationCacheTtlSeconds, 0);
const authorizationAllowedCacheTtlSeconds = problems.number('--authorization-allowed-cache-ttl-seconds', opts.authorizationAllowedCacheTtlSeconds, 0);
const authorizationDeniedCacheTtlSeconds = problems.number('--authorization-denied-cache-ttl-seconds', opts.authorizationDeniedCacheTtlSeconds, 0);
// The API server calls the node's kubelet port: 0 (any free port) would be one it is never told.
const port = problems.integer('--port', opts.port, 1, 65535);
const healthPort = problems.integer('--health-port', opts.healthPort, 0, 65535);
const sans = opts.tlsSan.split(',').map((s) => s.trim()).filter(Boolean);
const providerKnown = checkProviderName(opts.provider, '--provider', problems);
// Without a provider there is no kubelet port, and kubectl logs would be refused with no clue: a configuration error.
let providerConfig: Record<string, unknown> = {};
if (!opts.providerConfig) {
  problems.add('--provider-config', 'none given: a provider config file (TOML) is required, by the flag or VKUBELET_PROVIDER_CONFIG, since the kubelet port serves logs, stats and pods from the provider');
} else {
  providerConfig = readProviderConfig(opts.providerConfig, '--provider-config', problems);
  if (providerKnown) validateProviderConfig(opts.provider, providerConfig, '--provider-config', problems);
}

let client: KubeRestClient;
let provider: Provider;
let clientCa: string | undefined;
try {
  problems.throwIfAny('kubelet-api configuration');
  const kubeConfig = loadKubeConfig({ kubeconfigPath: opts.kubeconfig, inClusterServer: inClusterServer(process.env['KUBERNETES_SERVICE_HOST'], process.env['KUBERNETES_SERVICE_PORT']) });
  client = await KubeRestClient.create({ kubeConfig, qps: 50, burst: 100, userAgent: `virtual-kubelet-ts/${PROJECT_VERSION} kubelet-api`, registry });
  try {
    if (opts.clientCaFile) clientCa = readFileSync(opts.clientCaFile, 'utf8');
    else {
      // The cluster CA, as the client configuration hands it to TLS (kubeconfig data or file, or the service account's ca.crt).
      const tls: RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(tls);
      const ca = [tls.ca ?? []].flat();
      if (ca.length > 0) clientCa = ca.map((c) => c.toString()).join('\n');
    }
  } catch (err) {
    problems.add('--client-ca-file', `cannot read: ${(err as Error).message}`);
  }
  if (!clientCa && !insecureNoAuth) problems.add('--client-ca-file', 'no client CA: none given and the kubeconfig names no cluster CA');
  problems.throwIfAny('kubelet-api configuration');
  provider = createProvider({ provider: opts.provider as ProviderName, nodeName: opts.nodename, operatingSystem: 'linux', internalIP: '127.0.0.1', config: providerConfig }, { registry });
} catch (err) {
  process.stderr.write(`vk-kubelet-api: ${(err as Error).message}\n`);
  process.exit(2);
}

let ready = false;
const health = new HealthServer({ host: opts.healthHost, port: healthPort, registry, logger, readiness: { serving: () => ready } });
const closers: (() => Promise<void> | void)[] = [() => health.close()];
installGracefulShutdown({
  logger, timeoutMs: 4000,
  close: async () => { for (const close of closers.splice(0).reverse()) await close(); },
});
await health.start();

closers.push(() => client.close(), () => provider.close());
let auth: AppAuth;
if (insecureNoAuth) {
  auth = { insecureNoAuth: true };
  logger.warn({ insecureNoAuth: true },
    'INSECURE: --insecure-no-auth is set: every request to the kubelet port is served WITHOUT authentication or authorization. ' +
    'Anyone who can reach the port can read every pod\'s logs. Use it for local experiments only, never in a cluster.');
} else {
  const tokens = new TokenReviewer({ client, logger, authenticatedTtlMs: authenticationCacheTtlSeconds * 1000, unauthenticatedTtlMs: Math.min(authenticationCacheTtlSeconds, 10) * 1000 });
  auth = {
    authenticator: new RequestAuthenticator({ tokens, anonymous: anonymousAuth }),
    authorizer: new SubjectAccessReviewer({ client, allowedTtlMs: authorizationAllowedCacheTtlSeconds * 1000, deniedTtlMs: authorizationDeniedCacheTtlSeconds * 1000 }),
  };
}

// The serving certificate: from files (reloaded on change), else through a CSR (renewed before expiry).
let material: ServingMaterial | undefined;
let onNewMaterial: (m: ServingMaterial) => void = () => undefined;
const swap = (m: ServingMaterial): void => onNewMaterial(m);
let startWatching = (): void => undefined;
try {
  if (opts.tlsCertFile && opts.tlsKeyFile) {
    const files = new CertificateFileWatcher({ certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile, logger, onChange: swap });
    material = await files.load();
    startWatching = () => files.start();
    closers.push(() => files.close());
  } else {
    const bootstrapper = new CsrBootstrapper({
      client, logger, nodeName: opts.nodename, certDir: opts.certDir, onRenewed: swap,
      extraSans: { ipAddresses: sans.filter((s) => isIP(s)), dnsNames: sans.filter((s) => !isIP(s)) },
    });
    closers.push(() => bootstrapper.close());
    material = await bootstrapper.start();
  }
} catch (err) {
  // closers is empty when SIGTERM stopped the wait: the shutdown handler is already exiting.
  if (closers.length > 0) {
    logger.error({ err }, 'no serving certificate: cannot serve the kubelet port');
    process.stderr.write(`vk-kubelet-api: no serving certificate: ${(err as Error).message}\n`);
    for (const close of closers.splice(0).reverse()) await close();
    process.exit(1);
  }
}
if (material) {
  const app = buildApp({ logger, registry, auth, client, provider, nodeName: opts.nodename, https: { material, clientCa } });
  closers.push(() => app.close());
  onNewMaterial = (m) => applyServingMaterial(app.server as unknown as TlsServer, m, clientCa);
  await app.listen({ host: opts.host, port });
  startWatching();
  ready = true;
}
