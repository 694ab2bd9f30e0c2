import type { ControlPlane } from '@vk-ts/testbed';
import type { KubeRestClient } from '@vk-ts/core';
import type { BenchProcess } from './bench-process.ts';

/** What a system under test needs from the run. */
export interface BenchContext {
  controlPlane: ControlPlane;
  client: KubeRestClient;
  /** Where each process's log goes. */
  logDir: string;
}

/** One virtual-node implementation started for a scenario group: ours, or a peer. */
export interface BenchSystem {
  /** Row label, e.g. "ours ×2". */
  label: string;
  kind: 'ours' | 'limit' | 'limit-variant' | 'kwok' | 'upstream-vk' | 'upstream-vk-default';
  workers?: number;
  nodeName: string;
  /** The processes whose CPU and peak RSS are reported. */
  processes: { name: string; pid: number }[];
  /** Client throttle and parallelism it was given, as the table shows them. */
  given: string;
  version: string;
  /** Ours in the worker-scaling runs: the mock backend answers each pod API call this much later. */
  providerCallLatencyMs?: number;
  /** The queue's Redis, for ours. */
  redisUrl?: string;
  /** Pods the provider still holds, where the provider can be asked. */
  providerPodCount?: () => Promise<number>;
  close(): Promise<void>;
}

/** Polls until the Node reports Ready=True. */
export async function waitNodeReady(client: KubeRestClient, nodeName: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const node = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/api/v1/nodes/${nodeName}`);
      if (node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    } catch {
      // not registered yet
    }
    if (Date.now() > deadline) throw new Error(`node ${nodeName} not Ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits for a peer process's `"event":"ready"` line and its Node Ready; stops the process if either does not come. */
export async function waitProcessAndNodeReady(ctx: BenchContext, proc: BenchProcess, nodeName: string): Promise<void> {
  try {
    await proc.waitForLine(/"event":"ready"/, 60_000);
    await waitNodeReady(ctx.client, nodeName);
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
