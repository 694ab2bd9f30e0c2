import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@vk-ts/testbed';
import { BenchProcess } from './bench-process.ts';
import { waitNodeReady, type BenchContext, type BenchSystem } from './bench-system.ts';

export interface KwokOptions {
  binary: string;
  /** kwok's default "fast" stages (scripts/lib/toolchain.sh ensure_kwok writes them beside the binary). */
  stagesFile: string;
  version: string;
  nodeName: string;
  /** kwok's podPlayStageParallelism (its default is 4). */
  parallelism: number;
}

const ANNOTATION = 'kwok.x-k8s.io/node';

/**
 * kwok managing one Node of its own (created here, selected by annotation),
 * with its default fast stages: Pending → Running at once, deletion → gone.
 * kwok's client has no rate limiter (it sets client-go's fake "always" limiter).
 */
export async function startKwok(ctx: BenchContext, options: KwokOptions): Promise<BenchSystem> {
  await ctx.client.create('/api/v1/nodes', {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: options.nodeName,
      annotations: { [ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { type: 'kwok', 'kubernetes.io/hostname': options.nodeName, 'kubernetes.io/role': 'agent' },
    },
    spec: { taints: [{ key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' }] },
    status: { allocatable: { cpu: '100000', memory: '100000Gi', pods: '100000' }, capacity: { cpu: '100000', memory: '100000Gi', pods: '100000' } },
  });
  const config = join(ctx.logDir, 'kwok.yaml');
  writeFileSync(config, [
    'apiVersion: config.kwok.x-k8s.io/v1alpha1',
    'kind: KwokConfiguration',
    'options:',
    // Given a configuration, kwok leaves unset parallelism at 0 and refuses to start: set them all (defaults 4, 4, 4, 1).
    `  podPlayStageParallelism: ${options.parallelism}`,
    '  nodePlayStageParallelism: 4',
    '  nodeLeaseParallelism: 4',
    '  podsOnNodeSyncParallelism: 1',
    readFileSync(options.stagesFile, 'utf8'),
  ].join('\n'));
  const proc = new BenchProcess('kwok', options.binary, [
    '--kubeconfig', ctx.controlPlane.kubeconfigPath, '--config', config,
    '--manage-all-nodes=false', `--manage-nodes-with-annotation-selector=${ANNOTATION}=fake`,
    '--cidr', '10.0.0.1/16', '--node-ip', '127.0.0.1', '--server-address', `127.0.0.1:${await freePort()}`,
  ], { logFile: join(ctx.logDir, 'kwok.log') });
  try {
    await waitNodeReady(ctx.client, options.nodeName, 60_000);
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}; kwok output:\n${proc.tail.slice(-2000)}`, { cause: err });
  }
  return {
    label: 'kwok',
    kind: 'kwok',
    nodeName: options.nodeName,
    processes: [{ name: 'kwok', pid: proc.pid }],
    given: `no client throttle (built in); podPlayStageParallelism ${options.parallelism}`,
    version: `sigs.k8s.io/kwok ${options.version}`,
    close: () => proc.stop(),
  };
}
