import type { ContainerStats, CpuStats, MemoryStats, PodStats, StatsSummary } from '@vk-ts/core';
import type { MockContainer, MockPod } from './mock-backend.ts';

/** Synthetic network traffic of a running mock pod, per second. */
const RX_BYTES_PER_SECOND = 1000;
const TX_BYTES_PER_SECOND = 500;
/** Page cache on top of the working set: usageBytes = workingSetBytes + this. */
const CACHE_BYTES = 1024 * 1024;

/**
 * The mock's resource usage, derived from the backend's per-container
 * figures (cpuNanoCores, memoryBytes; settable through the backend's admin
 * API): deterministic for a given `now`, and cumulative CPU grows with the
 * time the container has been running. Only running containers are listed,
 * as the kubelet lists only containers it has stats for.
 */
export function mockStatsSummary(nodeName: string, nodeStartedAt: Date, pods: MockPod[], now: Date): StatsSummary {
  const time = now.toISOString();
  const podStats: PodStats[] = [];
  for (const pod of pods) {
    const containers = pod.containers.flatMap((c) => containerStats(c, now));
    if (containers.length === 0) continue;
    const runningSeconds = Math.max(0, (now.getTime() - Date.parse(pod.createdAt)) / 1000);
    podStats.push({
      podRef: { name: pod.spec.ref.name, namespace: pod.spec.ref.namespace, uid: pod.spec.ref.uid },
      startTime: pod.createdAt,
      containers,
      cpu: sumCpu(time, containers.map((c) => c.cpu)),
      memory: sumMemory(time, containers.map((c) => c.memory)),
      network: {
        time, name: 'eth0',
        rxBytes: Math.floor(runningSeconds * RX_BYTES_PER_SECOND), rxErrors: 0,
        txBytes: Math.floor(runningSeconds * TX_BYTES_PER_SECOND), txErrors: 0,
      },
    });
  }
  return {
    node: {
      nodeName,
      startTime: nodeStartedAt.toISOString(),
      cpu: sumCpu(time, podStats.map((p) => p.cpu)),
      memory: sumMemory(time, podStats.map((p) => p.memory)),
    },
    pods: podStats,
  };
}

function containerStats(c: MockContainer, now: Date): ContainerStats[] {
  if (c.state.state !== 'running') return [];
  const startedAt = c.state.startedAt;
  const runningSeconds = Math.max(0, (now.getTime() - Date.parse(startedAt)) / 1000);
  const time = now.toISOString();
  return [{
    name: c.name,
    startTime: startedAt,
    cpu: { time, usageNanoCores: c.cpuNanoCores, usageCoreNanoSeconds: Math.floor(c.cpuNanoCores * runningSeconds) },
    memory: { time, workingSetBytes: c.memoryBytes, usageBytes: c.memoryBytes + CACHE_BYTES, rssBytes: c.memoryBytes, availableBytes: 0, pageFaults: 0, majorPageFaults: 0 },
  }];
}

function sumCpu(time: string, parts: (CpuStats | undefined)[]): CpuStats {
  return {
    time,
    usageNanoCores: parts.reduce((s, c) => s + (c?.usageNanoCores ?? 0), 0),
    usageCoreNanoSeconds: parts.reduce((s, c) => s + (c?.usageCoreNanoSeconds ?? 0), 0),
  };
}

function sumMemory(time: string, parts: (MemoryStats | undefined)[]): MemoryStats {
  return {
    time,
    workingSetBytes: parts.reduce((s, m) => s + (m?.workingSetBytes ?? 0), 0),
    usageBytes: parts.reduce((s, m) => s + (m?.usageBytes ?? 0), 0),
  };
}
