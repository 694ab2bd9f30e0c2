import { join } from 'node:path';
import { BenchProcess } from './bench-process.ts';
import { waitProcessAndNodeReady, type BenchContext, type BenchSystem } from './bench-system.ts';

/**
 * Upstream virtual-kubelet: tools/upstream-vk (its node library, pinned in
 * tools/upstream-vk/go.mod, with a provider that does what upstream's mock does),
 * client throttle off (QPS < 0); with queueRateLimit false also without the
 * overall 10/s bucket of the pod controller's work queues.
 */
export async function startUpstreamVk(ctx: BenchContext, options: { binary: string; nodeName: string; podSyncWorkers: number; queueRateLimit: boolean }): Promise<BenchSystem> {
  const proc = new BenchProcess('upstream-vk', options.binary, ['--kubeconfig', ctx.controlPlane.kubeconfigPath, '--nodename', options.nodeName,
    '--pod-sync-workers', String(options.podSyncWorkers), '--kube-api-qps', '-1', `--queue-rate-limit=${options.queueRateLimit}`, '--log-level', 'warn'], { logFile: join(ctx.logDir, 'upstream-vk.log') });
  await waitProcessAndNodeReady(ctx, proc, options.nodeName);
  return {
    label: options.queueRateLimit ? 'virtual-kubelet (default queue limiter)' : 'virtual-kubelet',
    kind: options.queueRateLimit ? 'upstream-vk-default' : 'upstream-vk',
    nodeName: options.nodeName,
    processes: [{ name: 'upstream-vk', pid: proc.pid }],
    given: `QPS -1 (no client throttle); --pod-sync-workers ${options.podSyncWorkers}; ${options.queueRateLimit ? 'pod controller queues with client-go DefaultControllerRateLimiter (overall 10/s, burst 100), as upstream ships' : 'pod controller queues with per-item backoff only (the overall 10/s bucket removed)'}`,
    version: 'github.com/virtual-kubelet/virtual-kubelet v1.11.0 (node library)',
    close: () => proc.stop(),
  };
}
