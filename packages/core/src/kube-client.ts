import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { ErrorCodes, VkError } from './errors.ts';

/**
 * What KubeRestClient needs from a client configuration. @kubernetes/client-node's
 * KubeConfig has this shape too, so tests and tools may hand one in.
 */
export interface KubeConfigLike {
  getCurrentCluster(): { server: string } | null;
  /** Sets TLS material and the Authorization header; called again from time to time so rotated tokens are picked up. */
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

export interface KubeConfigOptions {
  /** Path to a kubeconfig file; when absent the in-cluster service account is used. */
  kubeconfigPath?: string | undefined;
  /** API server URL in a cluster (from KUBERNETES_SERVICE_HOST/PORT); defaults to https://kubernetes.default.svc. */
  inClusterServer?: string | undefined;
}

/** Where the kubelet mounts a pod's service-account token and CA. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface ClusterEntry {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

interface UserEntry {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user?: string } }[];
  clusters?: { name: string; cluster: ClusterEntry }[];
  users?: { name: string; user: UserEntry }[];
}

/**
 * Kubernetes client configuration from a kubeconfig file or the in-cluster
 * service account, for certificates, tokens, token files and basic auth.
 * Why not @kubernetes/client-node's KubeConfig for everything: importing it
 * loads the whole generated API (about 90 MB of RSS in each of our three
 * services). It is still used, loaded on demand, for what it does that we do
 * not: `exec` and `auth-provider` credential plugins and proxies.
 */
class StaticKubeConfig implements KubeConfigLike {
  readonly #cluster: ClusterEntry;
  readonly #user: UserEntry;
  readonly #base: string;

  constructor(cluster: ClusterEntry, user: UserEntry, base: string) {
    this.#cluster = cluster;
    this.#user = user;
    this.#base = base;
  }

  getCurrentCluster(): { server: string } {
    return { server: this.#cluster.server };
  }

  async applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    const c = this.#cluster;
    const u = this.#user;
    const ca = this.#material(c['certificate-authority-data'], c['certificate-authority']);
    if (ca) options.ca = ca;
    if (c['insecure-skip-tls-verify']) options.rejectUnauthorized = false;
    if (c['tls-server-name']) options.servername = c['tls-server-name'];
    const cert = this.#material(u['client-certificate-data'], u['client-certificate']);
    const key = this.#material(u['client-key-data'], u['client-key']);
    if (cert) options.cert = cert;
    if (key) options.key = key;
    // Token files are read on every call: projected service-account tokens are rotated by the kubelet.
    const token = u.tokenFile ? readFileSync(this.#path(u.tokenFile), 'utf8').trim() : u.token;
    const headers = { ...(options.headers as Record<string, string> | undefined) };
    if (token) headers['authorization'] = `Bearer ${token}`;
    else if (u.username !== undefined) headers['authorization'] = `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`;
    options.headers = headers;
  }

  #material(data: string | undefined, file: string | undefined): Buffer | undefined {
    if (data) return Buffer.from(data, 'base64');
    return file ? readFileSync(this.#path(file)) : undefined;
  }

  #path(file: string): string {
    return isAbsolute(file) ? file : join(this.#base, file);
  }
}

/** Delegates to @kubernetes/client-node's KubeConfig, imported only when a kubeconfig needs it. */
class PluginKubeConfig implements KubeConfigLike {
  readonly #path: string;
  readonly #server: string;
  #loaded: Promise<KubeConfigLike> | undefined;

  constructor(path: string, server: string) {
    this.#path = path;
    this.#server = server;
  }

  getCurrentCluster(): { server: string } {
    return { server: this.#server };
  }

  async applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    this.#loaded ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      kc.loadFromFile(this.#path);
      return kc;
    });
    await (await this.#loaded).applyToHTTPSOptions(options);
  }
}

/**
 * Loads the client configuration: an explicit kubeconfig file, else the
 * in-cluster service account. Fails with a config error naming what it tried.
 */
export function loadKubeConfig(options: KubeConfigOptions): KubeConfigLike {
  const what = options.kubeconfigPath ? `kubeconfig "${options.kubeconfigPath}"` : `the in-cluster service account (${SERVICE_ACCOUNT_DIR})`;
  const fail = (reason: string, cause?: unknown): never => {
    throw new VkError(ErrorCodes.CONFIG_INVALID, `Cannot load Kubernetes client configuration from ${what}: ${reason}`, { cause });
  };
  if (!options.kubeconfigPath) {
    try {
      readFileSync(join(SERVICE_ACCOUNT_DIR, 'token'));
    } catch (cause) {
      fail(`${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message} (set --kubeconfig outside a cluster)`, cause);
    }
    return new StaticKubeConfig(
      { server: options.inClusterServer ?? 'https://kubernetes.default.svc', 'certificate-authority': join(SERVICE_ACCOUNT_DIR, 'ca.crt') },
      { tokenFile: join(SERVICE_ACCOUNT_DIR, 'token') },
      SERVICE_ACCOUNT_DIR,
    );
  }
  let file: KubeconfigFile;
  try {
    file = (parse(readFileSync(options.kubeconfigPath, 'utf8')) ?? {}) as KubeconfigFile;
  } catch (cause) {
    return fail((cause as NodeJS.ErrnoException).code ?? (cause as Error).message.split('\n')[0]!, cause);
  }
  const contextName = file['current-context'];
  const context = file.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) return fail(`current-context "${contextName ?? ''}" is not among its contexts (set --kubeconfig or run in a cluster)`);
  const cluster = file.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) return fail(`context "${contextName}" names cluster "${context.cluster}", which has no server`);
  const user = file.users?.find((u) => u.name === context.user)?.user ?? {};
  if (user.exec || user['auth-provider'] || cluster['proxy-url']) return new PluginKubeConfig(options.kubeconfigPath, cluster.server);
  return new StaticKubeConfig(cluster, user, dirname(options.kubeconfigPath));
}

/** The in-cluster API server URL from KUBERNETES_SERVICE_HOST and _PORT (as client-go builds it); undefined outside a cluster. */
export function inClusterServer(host: string | undefined, port: string | undefined): string | undefined {
  if (!host) return undefined;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port || '443'}`;
}
