import type { V1Container, V1Pod, V1ResourceFieldSelector } from '@kubernetes/client-node';
import { ErrorCodes, VkError, parseQuantity } from '@vk-ts/core';

/**
 * The downward API as the kubelet evaluates it, for env (`fieldRef`,
 * `resourceFieldRef`) and downwardAPI volume items. `status.podIP` and
 * `status.hostIP` are known once the provider has reported them; before that
 * they are empty (upstream virtual-kubelet refuses such pods outright).
 */

/** The value of a `fieldRef.fieldPath`; unsupported paths are a POD_INVALID naming the path. */
export function fieldValue(pod: V1Pod, path: string, where: string): string {
  const m = pod.metadata!;
  switch (path) {
    case 'metadata.name': return m.name ?? '';
    case 'metadata.namespace': return m.namespace ?? '';
    case 'metadata.uid': return m.uid ?? '';
    case 'metadata.labels': return formatMap(m.labels);
    case 'metadata.annotations': return formatMap(m.annotations);
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return pod.status?.podIP ?? '';
    case 'status.podIPs': return (pod.status?.podIPs ?? []).map((p) => p.ip).join(',');
    case 'status.hostIP': return pod.status?.hostIP ?? '';
    case 'status.hostIPs': return (pod.status?.hostIPs ?? []).map((p) => p.ip).join(',');
  }
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return m.labels?.[label[1]!] ?? '';
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return m.annotations?.[annotation[1]!] ?? '';
  throw new VkError(ErrorCodes.POD_INVALID, `fieldRef "${path}" in ${where} is not supported`);
}

/**
 * The value of a `resourceFieldRef`: the container's limit or request divided
 * by the divisor and rounded up, as the kubelet does. A missing limit falls
 * back to the node's allocatable (`nodeAllocatable`), a missing request to 0
 * (cpu/memory requests default to the limit when only that is set).
 */
export function resourceFieldValue(pod: V1Pod, selector: V1ResourceFieldSelector, defaultContainer: string | undefined, nodeAllocatable: Record<string, string>, where: string): string {
  const name = selector.containerName || defaultContainer;
  const container: V1Container | undefined = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
  if (!container) throw new VkError(ErrorCodes.POD_INVALID, `resourceFieldRef in ${where} names container "${name ?? ''}", which the pod does not have`);
  const match = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/.exec(selector.resource);
  if (!match) throw new VkError(ErrorCodes.POD_INVALID, `resourceFieldRef "${selector.resource}" in ${where} is not supported (use limits.* or requests.* of cpu, memory, ephemeral-storage)`);
  const [, kind, resource] = match as unknown as [string, 'limits' | 'requests', string];
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const raw = kind === 'limits' ? limits[resource] ?? nodeAllocatable[resource] : requests[resource] ?? limits[resource] ?? '0';
  const value = parseQuantity(raw ?? '0');
  // The API server defaults an absent divisor to the zero quantity, which means 1 (as in the kubelet).
  const divisor = parseQuantity(String(selector.divisor ?? '0')) || 1;
  if (value === undefined || divisor < 0) {
    throw new VkError(ErrorCodes.POD_INVALID, `resourceFieldRef "${selector.resource}" in ${where}: "${raw}" / "${String(selector.divisor)}" is not a usable quantity`);
  }
  // Rounded up, as the kubelet's convertResourceCPUToString / convertResourceMemoryToString do.
  return String(Math.ceil(value / divisor - 1e-9));
}

/** `key="value"` lines, sorted, as the kubelet writes labels and annotations files. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((k) => `${k}=${JSON.stringify(map![k])}`).join('\n');
}
