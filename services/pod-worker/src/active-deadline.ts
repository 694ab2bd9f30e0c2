import type { V1Pod } from '@kubernetes/client-node';

/** The kubelet's status message for a pod it ends at its `activeDeadlineSeconds`. */
export const DEADLINE_EXCEEDED_MESSAGE = 'Pod was active on the node longer than the specified deadline';

/**
 * When `spec.activeDeadlineSeconds` ends the pod, in ms since the epoch:
 * counted from `status.startTime` (when the node first took the pod, as the
 * kubelet counts it), or from `now` for a pod whose start this pass is about
 * to write. Undefined without a deadline.
 */
export function activeDeadlineAt(pod: V1Pod, now?: number): number | undefined {
  const seconds = pod.spec?.activeDeadlineSeconds;
  if (seconds === undefined || seconds === null) return undefined;
  const started = pod.status?.startTime ? Date.parse(String(pod.status.startTime)) : now;
  return started === undefined || Number.isNaN(started) ? undefined : started + seconds * 1000;
}
