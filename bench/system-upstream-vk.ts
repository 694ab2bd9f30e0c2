import { join } from 'node:path';
import { BenchProcess } from './bench-process.ts';
import { waitNodeReady, type BenchContext, type BenchSystem } from './bench-system.ts';

/**
 * Upstream virtual-kubelet: tools/upstream-vk (its node library, pinned in
 * tools/upstream-vk/go.mod, with a provider that does what upstream's mock does),
 * client throttle off (QPS < 0).
 */
export async function startUpstreamVk(ctx: BenchContext, options: { binary: string; nodeName: string; podSyncWorkers: number }): Promise<BenchSystem> {
  const proc = new BenchProcess('upstream-vk', options.binary, ['--kubeconfig', ctx.controlPlane.kubeconfigPath, '--nodename', options.nodeName,
    '--pod-sync-workers', String(options.podSyncWorkers), '--kube-api-qps', '-1', '--log-level', 'warn'], { logFile: join(ctx.logDir, 'upstream-vk.log') });
  try {
    await proc.waitForLine(/"event":"ready"/, 60_000);
    await waitNodeReady(ctx.client, options.nodeName);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    label: 'virtual-kubelet',
    kind: 'upstream-vk',
    nodeName: options.nodeName,
    processes: [{ name: 'upstream-vk', pid: proc.pid }],
    given: `QPS -1 (no client throttle); --pod-sync-workers ${options.podSyncWorkers}`,
    version: 'github.com/virtual-kubelet/virtual-kubelet v1.11.0 (node/nodeutil)',
    close: () => proc.stop(),
  };
}
