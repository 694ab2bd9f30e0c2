import { join } from 'node:path';
import { REPO_ROOT } from '@vk-ts/testbed';
import { BenchProcess } from './bench-process.ts';
import { waitProcessAndNodeReady, type BenchContext, type BenchSystem } from './bench-system.ts';

/** What a limit variant adds to the minimal writer, to measure what that costs the API server. */
export const LIMIT_VARIANTS = {
  'limit-watch2': { flag: '--second-watch', label: 'limit + 2nd watch', given: 'plus a second, metadata-only watch of the same pods' },
  'limit-get': { flag: '--get-before-patch', label: 'limit + GET per pod', given: 'plus a GET of each pod (from the watch cache) before its PATCH' },
} as const;
export type LimitVariant = keyof typeof LIMIT_VARIANTS;

/** The "limit" peer: bench/limit-status-writer.ts, one PATCH per pod to Running, one DELETE per pod to go. */
export async function startLimit(ctx: BenchContext, options: { nodeName: string; concurrency: number; label?: string; variant?: LimitVariant }): Promise<BenchSystem> {
  const variant = options.variant ? LIMIT_VARIANTS[options.variant] : undefined;
  const proc = new BenchProcess('limit-status-writer', process.execPath, [join(REPO_ROOT, 'bench/limit-status-writer.ts'),
    '--kubeconfig', ctx.controlPlane.kubeconfigPath, '--nodename', options.nodeName, '--concurrency', String(options.concurrency), ...(variant ? [variant.flag] : [])],
  { logFile: join(ctx.logDir, 'limit-status-writer.log') });
  await waitProcessAndNodeReady(ctx, proc, options.nodeName);
  return {
    label: options.label ?? variant?.label ?? 'limit',
    // A variant is not the limit: ratios to the limit never include it.
    kind: variant ? 'limit-variant' : 'limit',
    nodeName: options.nodeName,
    processes: [{ name: 'limit-status-writer', pid: proc.pid }],
    given: `no client throttle; ${options.concurrency} requests in flight${variant ? `; ${variant.given}` : ''}`,
    version: 'this commit (bench/limit-status-writer.ts)',
    close: () => proc.stop(),
  };
}
