import type { NodeDescription } from '@vk-ts/core';
import { KUBELET_VERSION } from '@vk-ts/core';
import type { NodeSettings } from './agent-config.ts';
import { LAST_APPLIED_ANNOTATION, type AppliedNodeMeta } from './node-metadata-plan.ts';

/**
 * The desired shape of our Node object: what we own of it. Everything here is
 * written with patches, so fields other actors set (conditions, taints,
 * labels, annotations) are kept.
 */

export const CONDITION_TYPES = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export function nodeLabels(settings: NodeSettings, desc: NodeDescription): Record<string, string> {
  return {
    type: 'virtual-kubelet',
    'kubernetes.io/role': 'agent',
    'kubernetes.io/hostname': settings.name,
    'kubernetes.io/os': desc.operatingSystem,
    'beta.kubernetes.io/os': desc.operatingSystem,
    'kubernetes.io/arch': desc.architecture,
    'beta.kubernetes.io/arch': desc.architecture,
    'alpha.service-controller.kubernetes.io/exclude-balancer': 'true',
    'node.kubernetes.io/exclude-from-external-load-balancers': 'true',
    ...settings.labels,
  };
}

export function nodeTaints(settings: NodeSettings): { key: string; value: string; effect: string }[] {
  return settings.taint ? [{ key: settings.taint.key, value: settings.taint.value, effect: settings.taint.effect }] : [];
}

/** Our conditions when the provider is healthy (we only post status then). */
export function healthyConditions(): Omit<NodeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'>[] {
  return [
    { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'virtual-kubelet-ts is posting ready status; the provider answers its health check' },
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'the provider has memory available' },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'the provider has no disk pressure' },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'the provider has PIDs available' },
    { type: 'NetworkUnavailable', status: 'False', reason: 'ProviderNetworkReady', message: 'pod networking is provided by the provider' },
  ];
}

/**
 * Conditions with heartbeat = now, and a transition time that changes only
 * when the status differs from what the node currently shows.
 */
export function stampConditions(current: NodeCondition[] | undefined, now: string): NodeCondition[] {
  return healthyConditions().map((c) => {
    const prev = current?.find((p) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    return { ...c, lastHeartbeatTime: now, lastTransitionTime };
  });
}

export function nodeStatus(settings: NodeSettings, desc: NodeDescription, conditions: NodeCondition[]): Record<string, unknown> {
  return {
    capacity: desc.capacity,
    allocatable: desc.allocatable ?? desc.capacity,
    conditions,
    addresses: [
      { type: 'InternalIP', address: settings.internalIP },
      { type: 'Hostname', address: settings.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: settings.kubeletPort } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: desc.kernelVersion ?? '',
      osImage: desc.osImage ?? '',
      containerRuntimeVersion: `${settings.provider}://virtual-kubelet-ts`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: desc.operatingSystem,
      architecture: desc.architecture,
    },
  };
}

/** What we apply to the Node's metadata and spec (recorded on it: node-metadata-plan.ts). */
export function appliedNodeMeta(settings: NodeSettings, desc: NodeDescription): AppliedNodeMeta {
  return { labels: nodeLabels(settings, desc), taints: nodeTaints(settings), resources: Object.keys(desc.capacity) };
}

export function newNodeObject(settings: NodeSettings, desc: NodeDescription): Record<string, unknown> {
  const applied = appliedNodeMeta(settings, desc);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: settings.name, labels: applied.labels, annotations: { [LAST_APPLIED_ANNOTATION]: JSON.stringify(applied) } },
    spec: { taints: applied.taints },
  };
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
