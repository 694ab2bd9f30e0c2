import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ProviderPod } from '@vk-ts/core';

interface Condition { type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }

/**
 * The part of `pods/status` the worker owns, derived from the provider's view.
 * Transition times are kept while a condition's status does not change.
 */
export function desiredPodStatus(pod: V1Pod, provided: ProviderPod, now: string): Record<string, unknown> {
  const s = provided.status;
  const current = (pod.status?.conditions ?? []) as unknown as Condition[];
  const byName = new Map((s.containerStatuses ?? []).map((c) => [c.name, c]));
  const containerStatuses = (pod.spec?.containers ?? []).map((c) => byName.get(c.name) ?? {
    name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, started: false,
    state: { waiting: { reason: 'ContainerCreating' } },
  });
  const initByName = new Map((s.initContainerStatuses ?? []).map((c) => [c.name, c]));
  const initContainerStatuses = (pod.spec?.initContainers ?? []).map((c) => initByName.get(c.name) ?? {
    name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, started: false,
    state: { waiting: { reason: 'PodInitializing' } },
  });
  const initialized = initContainerStatuses.every((c) => c.state?.terminated?.exitCode === 0);
  const allReady = containerStatuses.length > 0 && containerStatuses.every((c) => c.ready);
  const cond = (type: string, ok: boolean, reason?: string): Condition => {
    const status = ok ? 'True' : 'False';
    const prev = current.find((c) => c.type === type);
    return {
      type, status,
      lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? String(prev.lastTransitionTime) : now,
      ...(reason && !ok ? { reason } : {}),
    };
  };
  return {
    phase: s.phase,
    conditions: [
      cond('PodScheduled', true),
      cond('Initialized', initialized, 'ContainersNotInitialized'),
      cond('ContainersReady', allReady, 'ContainersNotReady'),
      cond('Ready', allReady, 'ContainersNotReady'),
    ],
    containerStatuses,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    ...(s.podIP ? { podIP: s.podIP, podIPs: s.podIPs ?? [{ ip: s.podIP }] } : {}),
    ...(s.hostIP ? { hostIP: s.hostIP, hostIPs: s.hostIPs ?? [{ ip: s.hostIP }] } : {}),
    startTime: pod.status?.startTime ?? s.startTime,
    // The API server sets qosClass at creation and then refuses any change: keep its answer.
    qosClass: pod.status?.qosClass ?? qosClass([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]),
  };
}

/** True when writing `desired` would change what the pod shows. */
export function statusChanged(pod: V1Pod, desired: Record<string, unknown>): boolean {
  const current = pod.status as Record<string, unknown> | undefined ?? {};
  return Object.entries(desired).some(([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v));
}

export function qosClass(containers: V1Container[]): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (!lim[r] || (req[r] && req[r] !== lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
