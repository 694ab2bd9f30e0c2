import { KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, VkError } from './errors.ts';

export interface KubeConfigOptions {
  /** Path to a kubeconfig file; when absent the in-cluster service account is used. */
  kubeconfigPath?: string | undefined;
}

/**
 * Loads the client configuration: an explicit kubeconfig file, else the
 * in-cluster service account. Fails with a config error naming what it tried.
 */
export function loadKubeConfig(options: KubeConfigOptions): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
    else kc.loadFromCluster();
  } catch (cause) {
    const what = options.kubeconfigPath ? `kubeconfig "${options.kubeconfigPath}"` : 'the in-cluster service account';
    throw new VkError(ErrorCodes.CONFIG_INVALID, `Cannot load Kubernetes client configuration from ${what}: ${(cause as Error).message}`, { cause });
  }
  if (!kc.getCurrentCluster()) {
    throw new VkError(ErrorCodes.CONFIG_INVALID, 'Kubernetes client configuration has no current cluster (set --kubeconfig or run in a cluster)');
  }
  return kc;
}
