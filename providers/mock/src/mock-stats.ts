import type { ContainerStats, MemoryStats, PodStats, StatsSummary } from '@vk-ts/core';
import { containerCpuUsed, podCpuUsed, type MockContainer, type MockPod } from './mock-backend.ts';

/** Synthetic network traffic of a running mock pod, per second. */
const RX_BYTES_PER_SECOND = 1000;
const TX_BYTES_PER_SECOND = 500;
/** Page cache on top of the working set: usageBytes = workingSetBytes + this. */
const CACHE_BYTES = 1024 * 1024;

/**
 * The mock's resource usage, derived from the backend's per-container
 * figures (cpuNanoCores, memoryBytes; settable through the backend's admin
 * API): deterministic for a given `now`. Cumulative CPU never goes down, as
 * a cgroup's does not: a container's is banked when its rate changes or it
 * ends, a pod's counts its ended containers, and the node's counts the pods
 * already removed (`removedPodsCpuUsed`, kept by the backend). Only running
 * containers, and pods with one running, are listed, as the kubelet lists
 * only what it has stats for.
 */
export function mockStatsSummary(nodeName: string, nodeStartedAt: Date, pods: MockPod[], now: Date, removedPodsCpuUsed = 0): StatsSummary {
  const time = now.toISOString();
  const nowMs = now.getTime();
  const podStats: PodStats[] = [];
  let nodeCpuUsed = removedPodsCpuUsed;
  for (const pod of pods) {
    nodeCpuUsed += podCpuUsed(pod, nowMs);
    const containers = pod.containers.flatMap((c) => containerStats(c, now));
    if (containers.length === 0) continue;
    const runningSeconds = Math.max(0, (nowMs - Date.parse(pod.createdAt)) / 1000);
    podStats.push({
      podRef: { name: pod.spec.ref.name, namespace: pod.spec.ref.namespace, uid: pod.spec.ref.uid },
      startTime: pod.createdAt,
      containers,
      cpu: { time, usageNanoCores: sumOf(containers, (c) => c.cpu?.usageNanoCores), usageCoreNanoSeconds: Math.floor(podCpuUsed(pod, nowMs)) },
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
      cpu: { time, usageNanoCores: sumOf(podStats, (p) => p.cpu?.usageNanoCores), usageCoreNanoSeconds: Math.floor(nodeCpuUsed) },
      memory: sumMemory(time, podStats.map((p) => p.memory)),
    },
    pods: podStats,
  };
}

function containerStats(c: MockContainer, now: Date): ContainerStats[] {
  if (c.state.state !== 'running') return [];
  const time = now.toISOString();
  return [{
    name: c.name,
    startTime: c.state.startedAt,
    cpu: { time, usageNanoCores: c.cpuNanoCores, usageCoreNanoSeconds: Math.floor(containerCpuUsed(c, now.getTime())) },
    memory: { time, workingSetBytes: c.memoryBytes, usageBytes: c.memoryBytes + CACHE_BYTES, rssBytes: c.memoryBytes, availableBytes: 0, pageFaults: 0, majorPageFaults: 0 },
  }];
}

function sumOf<T>(items: T[], value: (item: T) => number | undefined): number {
  return items.reduce((s, x) => s + (value(x) ?? 0), 0);
}

function sumMemory(time: string, parts: (MemoryStats | undefined)[]): MemoryStats {
  return {
    time,
    workingSetBytes: parts.reduce((s, m) => s + (m?.workingSetBytes ?? 0), 0),
    usageBytes: parts.reduce((s, m) => s + (m?.usageBytes ?? 0), 0),
  };
}
