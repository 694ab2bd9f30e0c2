/**
 * The kubelet's stats/v1alpha1 Summary, as served on /stats/summary and read
 * by metrics-server, `kubectl top` and monitoring agents. Only the parts a
 * provider can know of a pod that runs elsewhere; every figure is optional,
 * as in the kubelet (absent means "not known", never zero). Times are RFC 3339.
 */

export interface CpuStats {
  time: string;
  /** Average usage over the provider's last sampling window, in nanocores. */
  usageNanoCores?: number;
  /** Cumulative CPU time since the container (pod, node) started, in core-nanoseconds; never decreases. */
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface InterfaceStats {
  name: string;
  rxBytes?: number;
  rxErrors?: number;
  txBytes?: number;
  txErrors?: number;
}

export interface NetworkStats extends InterfaceStats {
  time: string;
  interfaces?: InterfaceStats[];
}

export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerStats[];
  cpu?: CpuStats;
  memory?: MemoryStats;
  network?: NetworkStats;
}

export interface NodeStats {
  nodeName: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
  network?: NetworkStats;
}

export interface StatsSummary {
  node: NodeStats;
  pods: PodStats[];
}
