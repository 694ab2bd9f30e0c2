import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceV8Flags } from '@vk-ts/core';
import { RedisServer, freePort, serviceBundle, waitFor } from '@vk-ts/testbed';
import { BenchProcess } from './bench-process.ts';
import { waitNodeReady, type BenchContext, type BenchSystem } from './bench-system.ts';

export interface OursOptions {
  workers: number;
  /** Pods each pod-worker works at once (its --concurrency). */
  concurrency: number;
  nodeName: string;
  /** When set, node-agent and pod-workers write V8 CPU profiles (--cpu-prof) there on exit. */
  cpuProfileDir?: string;
  /** V8 flags of all our processes; each service's own (serviceV8Flags) when absent. */
  v8Flags?: string[];
  /** More node-agent flags (experiments, e.g. --status-sync-interval-seconds 0). */
  agentArgs?: string[];
  /** V8 flags of the pod-workers only (overrides v8Flags for them). */
  workerV8Flags?: string[];
  /** The mock backend answers every pod API call this much later (a slow cloud API); 0 or absent: at once. */
  providerCallLatencyMs?: number;
}

/**
 * Ours, through the services' command lines only: a fresh Redis, the mock
 * backend as its own process, one node-agent and `workers` pod-workers, all
 * without client-side throttling (--kube-api-qps 0).
 */
export async function startOurs(ctx: BenchContext, options: OursOptions): Promise<BenchSystem> {
  const started: BenchProcess[] = [];
  const redis = await RedisServer.start();
  const close = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop()));
    await redis.close();
  };
  try {
    const node = process.execPath;
    const v8Flags = (name: string): readonly string[] => (name === 'pod-worker' ? options.workerV8Flags : undefined) ?? options.v8Flags ?? serviceV8Flags(name);
    const mock = new BenchProcess('mock-backend', node, [...v8Flags('mock-backend'), serviceBundle('mock-backend'), '--port', '0'], { logFile: join(ctx.logDir, 'mock-backend.log') });
    started.push(mock);
    const mockUrl = (JSON.parse(await mock.waitForLine(/"event":"ready"/, 30_000)) as { url: string }).url;
    if (options.providerCallLatencyMs) {
      const res = await fetch(`${mockUrl}/admin/faults`, { method: 'PUT', body: JSON.stringify({ callLatencyMs: options.providerCallLatencyMs }) });
      if (!res.ok) throw new Error(`mock backend refused the call latency: HTTP ${res.status} ${await res.text()}`);
    }
    const providerConfig = join(ctx.logDir, 'mock-provider.toml');
    writeFileSync(providerConfig, `endpoint = "${mockUrl}"\n`);
    const common = ['--kubeconfig', ctx.controlPlane.kubeconfigPath, '--redis-url', redis.url, '--nodename', options.nodeName,
      '--provider', 'mock', '--provider-config', providerConfig, '--kube-api-qps', '0', '--log-level', 'warn', '--health-host', '127.0.0.1'];
    const env = options.cpuProfileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.cpuProfileDir}` } : undefined;
    const agentPort = await freePort();
    const agent = new BenchProcess('node-agent', node, [...v8Flags('node-agent'), serviceBundle('node-agent'), ...common, '--health-port', String(agentPort), ...(options.agentArgs ?? [])], { logFile: join(ctx.logDir, 'node-agent.log'), env });
    started.push(agent);
    const workerPorts: number[] = [];
    for (let i = 0; i < options.workers; i++) {
      const port = await freePort();
      workerPorts.push(port);
      started.push(new BenchProcess(`pod-worker-${i + 1}`, node, [...v8Flags('pod-worker'), serviceBundle('pod-worker'), ...common,
        '--concurrency', String(options.concurrency), '--health-port', String(port)], { logFile: join(ctx.logDir, `pod-worker-${i + 1}.log`), env }));
    }
    const ready = async (port: number): Promise<boolean> => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
    await waitFor('node-agent ready', () => ready(agentPort), { timeoutMs: 60_000, intervalMs: 250 });
    for (const port of workerPorts) await waitFor('pod-worker ready', () => ready(port), { timeoutMs: 60_000, intervalMs: 250 });
    await waitNodeReady(ctx.client, options.nodeName);
    return {
      label: `ours ×${options.workers}`,
      kind: 'ours',
      workers: options.workers,
      ...(options.providerCallLatencyMs ? { providerCallLatencyMs: options.providerCallLatencyMs } : {}),
      nodeName: options.nodeName,
      processes: [...started.map((p) => ({ name: p.name, pid: p.pid })), { name: 'redis-server', pid: redis.pid ?? -1 }],
      given: `node-agent and ${options.workers} pod-worker(s): --kube-api-qps 0 (no client throttle);${options.agentArgs?.length ? ` node-agent ${options.agentArgs.join(' ')};` : ''} pod-worker --concurrency ${options.concurrency}; node-agent node ${v8Flags('node-agent').join(' ')}; pod-worker node ${v8Flags('pod-worker').join(' ')}${options.providerCallLatencyMs ? `; worker-scaling runs: every mock backend call answered after ${options.providerCallLatencyMs} ms` : ''}`,
      version: 'this commit',
      redisUrl: redis.url,
      providerPodCount: async () => ((await (await fetch(`${mockUrl}/v1/pods?node=${encodeURIComponent(options.nodeName)}`)).json()) as unknown[]).length,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
