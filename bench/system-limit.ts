import { join } from 'node:path';
import { REPO_ROOT } from '@vk-ts/testbed';
import { BenchProcess } from './bench-process.ts';
import { waitProcessAndNodeReady, type BenchContext, type BenchSystem } from './bench-system.ts';

/** The "limit" peer: bench/limit-status-writer.ts, one PATCH per pod to Running, one DELETE per pod to go. */
export async function startLimit(ctx: BenchContext, options: { nodeName: string; concurrency: number; label?: string }): Promise<BenchSystem> {
  const proc = new BenchProcess('limit-status-writer', process.execPath, [join(REPO_ROOT, 'bench/limit-status-writer.ts'),
    '--kubeconfig', ctx.controlPlane.kubeconfigPath, '--nodename', options.nodeName, '--concurrency', String(options.concurrency)], { logFile: join(ctx.logDir, 'limit-status-writer.log') });
  await waitProcessAndNodeReady(ctx, proc, options.nodeName);
  return {
    label: options.label ?? 'limit',
    kind: 'limit',
    nodeName: options.nodeName,
    processes: [{ name: 'limit-status-writer', pid: proc.pid }],
    given: `no client throttle; ${options.concurrency} requests in flight`,
    version: 'this commit (bench/limit-status-writer.ts)',
    close: () => proc.stop(),
  };
}
