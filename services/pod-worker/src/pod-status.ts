import type { V1Container, V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { ProviderPod } from '@vk-ts/core';

interface Condition { type: string; status: string; lastTransitionTime?: string; reason?: string | null; message?: string | null }

export const EPHEMERAL_CONTAINER_REASON = 'EphemeralContainersNotSupported';
export const EPHEMERAL_CONTAINER_MESSAGE = 'this virtual kubelet\'s providers cannot add a container to a running pod; debug a copy of the pod instead (kubectl debug --copy-to)';

/**
 * The part of `pods/status` the worker owns, derived from the provider's view.
 * Transition times are kept while a condition's status does not change.
 *
 * Not written, though the kubelet writes them: `observedGeneration` (on the
 * status and each condition) and the PodReadyToStartContainers condition.
 * They make every pod object, and so every watch event of every watcher,
 * larger; in one measured pair they cost ours more CPU per pod than the
 * machine's drift explains (bench/README, session of 2026-11-25), for fields
 * nothing in the cluster acts on.
 */
export function desiredPodStatus(pod: V1Pod, provided: ProviderPod, nowIso: string): Record<string, unknown> {
  const s = provided.status;
  const now = kubeTime(nowIso)!;
  const current = (pod.status?.conditions ?? []) as unknown as Condition[];
  const byName = new Map((s.containerStatuses ?? []).map((c) => [c.name, withKubeTimes(c)]));
  const containerStatuses = (pod.spec?.containers ?? []).map((c) => byName.get(c.name) ?? waitingStatus(c, { reason: 'ContainerCreating' }));
  const initByName = new Map((s.initContainerStatuses ?? []).map((c) => [c.name, withKubeTimes(c)]));
  const initContainerStatuses = (pod.spec?.initContainers ?? []).map((c) => initByName.get(c.name) ?? waitingStatus(c, { reason: 'PodInitializing' }));
  // No provider can add a container to a running pod: an ephemeral container (kubectl debug) ends at once, saying
  // why, so that the client stops waiting for it. No times: they would differ on every pass.
  const ephemeralContainerStatuses = (pod.spec?.ephemeralContainers ?? []).map((c) => ({
    name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, started: false,
    state: { terminated: { exitCode: 128, reason: EPHEMERAL_CONTAINER_REASON, message: EPHEMERAL_CONTAINER_MESSAGE } },
  }));
  // Sidecars (init containers with restartPolicy Always) count as initialized once started, and count toward
  // readiness beside the containers, as the kubelet counts them (kubectl's READY column shows them too).
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const initialized = initContainerStatuses.every((c) => (sidecars.has(c.name) ? c.started === true : c.state?.terminated?.exitCode === 0));
  const allReady = containerStatuses.length > 0 && containerStatuses.every((c) => c.ready)
    && initContainerStatuses.every((c) => !sidecars.has(c.name) || c.ready);
  // A True condition carries no reason; null removes one an earlier status (or another writer) left. Nulls are
  // sent only where there is something to remove, so that the usual patch stays as small as it was.
  const cond = (type: string, ok: boolean, reason?: string): Condition => {
    const status = ok ? 'True' : 'False';
    const prev = current.find((c) => c.type === type);
    return {
      type, status,
      lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? String(prev.lastTransitionTime) : now,
      ...setOrRemove('reason', ok ? undefined : reason, prev),
      ...setOrRemove('message', undefined, prev),
    };
  };
  // As the kubelet words it for a pod that has finished.
  const notReady = s.phase === 'Succeeded' ? 'PodCompleted' : s.phase === 'Failed' ? 'PodFailed' : 'ContainersNotReady';
  return {
    phase: s.phase,
    // The provider has the pod: a reason and message an earlier pass wrote (ProviderFailed, CreateContainerConfigError)
    // are over, and would otherwise stay, since a patch keeps what it does not name (kubectl get pods shows the reason).
    ...setOrRemove('reason', s.reason, pod.status),
    ...setOrRemove('message', s.message, pod.status),
    conditions: [
      cond('PodScheduled', true),
      cond('Initialized', initialized, 'ContainersNotInitialized'),
      cond('ContainersReady', allReady, notReady),
      cond('Ready', allReady, notReady),
    ],
    containerStatuses,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    ...(ephemeralContainerStatuses.length ? { ephemeralContainerStatuses } : {}),
    ...(s.podIP ? { podIP: s.podIP, podIPs: s.podIPs ?? [{ ip: s.podIP }] } : {}),
    ...(s.hostIP ? { hostIP: s.hostIP, hostIPs: s.hostIPs ?? [{ ip: s.hostIP }] } : {}),
    startTime: pod.status?.startTime ?? kubeTime(s.startTime),
    // The API server sets qosClass at creation and then refuses any change: keep its answer.
    qosClass: pod.status?.qosClass ?? qosClass([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]),
  };
}

/**
 * The final status of a pod that ended without finishing: its containers
 * lost by the provider (`why` says so), or stopped because the pod was
 * deleted. Failed, not ready (so PodDisruptionBudgets, `kubectl wait` and the
 * Job controller see it), and each container not already ended terminated as
 * the provider last saw it stop (`stopped`), else as ContainerStatusUnknown
 * (exit 137), as the kubelet ends containers it cannot account for. `pod`
 * must be the whole pod: its container statuses are replaced as a list.
 */
export function endedPodStatus(pod: V1Pod, nowIso: string, why?: { reason: string; message: string }, stopped: V1ContainerStatus[] = []): Record<string, unknown> {
  const now = kubeTime(nowIso)!;
  // How the provider says a container ended (its exit code, for a Job's podFailurePolicy), else "unknown".
  const endedBy = new Map(stopped.filter((c) => c.state?.terminated).map((c) => [c.name, withKubeTimes(c)]));
  const end = (c: V1ContainerStatus): V1ContainerStatus => (c.state?.terminated ? c : endedBy.get(c.name) ?? {
    ...c, ready: false, started: false,
    state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', finishedAt: now as unknown as Date } },
  });
  const notReady = (type: string): Condition => ({ type, status: 'False', lastTransitionTime: now, reason: 'PodFailed', message: null });
  const current = (pod.status?.conditions ?? []) as unknown as Condition[];
  const keep = (type: string): Condition | undefined => current.find((c) => c.type === type);
  return {
    phase: 'Failed', ...why,
    conditions: [keep('PodScheduled'), keep('Initialized'), notReady('ContainersReady'), notReady('Ready')].filter((c) => c !== undefined),
    ...(pod.status?.containerStatuses ? { containerStatuses: pod.status.containerStatuses.map(end) } : {}),
  };
}

/**
 * The status of a pod whose create waits for an image the provider cannot get:
 * `container` waits in `waiting` (ErrImagePull, ImagePullBackOff), the others
 * in ContainerCreating, or PodInitializing while an init container's image
 * holds the pod (kubectl shows Init:ImagePullBackOff).
 */
export function imagePullStatus(pod: V1Pod, container: string | undefined, waiting: { reason: string; message: string }): Record<string, unknown> {
  const inits = pod.spec?.initContainers ?? [];
  const initFails = inits.some((c) => c.name === container);
  const statuses = (list: V1Container[], otherwise: string): V1ContainerStatus[] =>
    list.map((c) => waitingStatus(c, c.name === container ? waiting : { reason: otherwise }));
  return {
    ...setOrRemove('reason', undefined, pod.status),
    ...setOrRemove('message', undefined, pod.status),
    ...startTimeIfUnset(pod),
    containerStatuses: statuses(pod.spec?.containers ?? [], initFails ? 'PodInitializing' : 'ContainerCreating'),
    ...(inits.length ? { initContainerStatuses: statuses(inits, 'PodInitializing') } : {}),
  };
}

/**
 * `{ startTime: now }` for a pod that has none yet, else nothing: the time the
 * node took the pod, as the kubelet writes it also for a pod held Pending
 * (activeDeadlineSeconds counts from it).
 */
export function startTimeIfUnset(pod: V1Pod): { startTime?: string } {
  return pod.status?.startTime ? {} : { startTime: kubeTime(new Date()) };
}

/** A container that has not started: waiting, with `waiting`'s reason. */
function waitingStatus(c: V1Container, waiting: { reason: string; message?: string }): V1ContainerStatus {
  return { name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, started: false, state: { waiting } };
}

/** `{ key: value }`; without a value, `{ key: null }` (remove) when `current` has the key, else nothing. */
function setOrRemove(key: string, value: string | undefined, current: object | undefined): Record<string, string | null> {
  if (value) return { [key]: value };
  const had = (current as Record<string, unknown> | undefined)?.[key];
  return had === undefined || had === null ? {} : { [key]: null };
}

/** True when writing `desired` would change what the pod shows. */
export function statusChanged(pod: V1Pod, desired: Record<string, unknown>): boolean {
  return changedStatusFields(pod, desired).length > 0;
}

/**
 * The top-level status fields writing `desired` would change (for the
 * decision and for debug logs). Only what we set counts: the API server adds
 * fields of its own (`lastProbeTime: null`, the scheduler's `observedGeneration`, container
 * `volumeMounts`, ...) and other actors add conditions, and none of that may
 * make every pass write the same status again.
 */
export function changedStatusFields(pod: V1Pod, desired: Record<string, unknown>): string[] {
  const current = pod.status as Record<string, unknown> | undefined ?? {};
  return Object.entries(desired).filter(([k, v]) => !contains(current[k], v)).map(([k]) => k);
}

/**
 * True when `current` holds every value of `wanted` (lists of named or typed
 * items matched by that key). A wanted null (remove the field) is held by an
 * absent or null field.
 */
function contains(current: unknown, wanted: unknown): boolean {
  if (wanted === undefined) return true;
  if (wanted === null) return current === undefined || current === null;
  if (Array.isArray(wanted)) {
    if (!Array.isArray(current)) return false;
    const keyOf = (x: unknown): string | undefined => {
      const o = x as { type?: unknown; name?: unknown } | null;
      return typeof o?.type === 'string' ? `type:${o.type}` : typeof o?.name === 'string' ? `name:${o.name}` : undefined;
    };
    if (wanted.every((w) => keyOf(w) !== undefined)) {
      const byKey = new Map(current.map((c) => [keyOf(c), c]));
      return wanted.every((w) => contains(byKey.get(keyOf(w)), w));
    }
    return current.length === wanted.length && wanted.every((w, i) => contains(current[i], w));
  }
  if (wanted !== null && typeof wanted === 'object') {
    if (current === null || typeof current !== 'object') return false;
    return Object.entries(wanted).every(([k, v]) => contains((current as Record<string, unknown>)[k], v));
  }
  return current === wanted;
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

/**
 * A time as the API server stores it (RFC 3339, whole seconds). Writing
 * milliseconds would make every later comparison with the stored status
 * differ, and every pass would PATCH the same status again.
 */
export function kubeTime(value: Date | string | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isNaN(ms) ? String(value) : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function withKubeTimes(c: V1ContainerStatus): V1ContainerStatus {
  return {
    ...c,
    ...(c.state ? { state: stateWithKubeTimes(c.state) } : {}),
    ...(c.lastState ? { lastState: stateWithKubeTimes(c.lastState) } : {}),
  };
}

function stateWithKubeTimes(st: V1ContainerState): V1ContainerState {
  const t = (v: Date | undefined) => kubeTime(v) as unknown as Date;
  return {
    ...(st.waiting ? { waiting: st.waiting } : {}),
    ...(st.running ? { running: { ...st.running, startedAt: t(st.running.startedAt) } } : {}),
    ...(st.terminated ? { terminated: { ...st.terminated, startedAt: t(st.terminated.startedAt), finishedAt: t(st.terminated.finishedAt) } } : {}),
  };
}
