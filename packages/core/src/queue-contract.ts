/**
 * The contract between node-agent (producer) and pod-worker (consumer).
 * A job is a pointer to a pod, never a command and never pod contents
 * (DESIGN invariants 2 and 4): the worker reads the latest pod itself.
 */
import type { JobsOptions } from 'bullmq';

/**
 * What triggered the job. `resync` with an empty name is the node-wide resync
 * (lost work and orphans); `status` with an empty name is the batch status sync; `status` with a
 * name is a pod whose provider-side state changed.
 */
export type PodOperation = 'create' | 'update' | 'delete' | 'resync' | 'status' | 'deadline';

export interface PodJobData {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** What triggered the job; for observability only, the worker converges to the latest state. */
  op: PodOperation;
}

/** One BullMQ queue per virtual node. */
export function podQueueName(nodeName: string): string {
  return `vk-pods-${nodeName}`;
}

/** Deduplication id: one pending pass per pod; a burst of events coalesces into it. */
export function podJobKey(data: Pick<PodJobData, 'namespace' | 'name'>): string {
  return `${data.namespace}/${data.name}`;
}

export const POD_JOB_NAME = 'reconcile';

/** Retry policy of reconcile jobs: exponential from 1 s with jitter; permanent errors skip retries. */
export const POD_JOB_ATTEMPTS = 8;
export const POD_JOB_BACKOFF_MS = 1000;

/**
 * Options of every per-pod job, whoever enqueues it (pod watcher, status sync).
 * Deduplication: an event for a pod whose job is running is kept for one more
 * pass after it (`keepLastIfActive`); one for a pod whose job is delayed (a
 * retry backoff of up to a minute, a deletion's poll) makes that job run now
 * (`reschedule`), so that a `kubectl delete` of a pod waiting for its Secret is
 * not held up by the backoff; one for a waiting job merges into it.
 */
export function podJobOptions(data: PodJobData): JobsOptions {
  return {
    deduplication: { id: podJobKey(data), keepLastIfActive: true, reschedule: true },
    attempts: POD_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: POD_JOB_BACKOFF_MS, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: 1000,
  };
}

/**
 * A pod's pass at its activeDeadlineSeconds: a job of its own (its own
 * deduplication id), delayed until the deadline, so that it never holds up
 * the pod's other work; asked again while one is pending, nothing changes.
 */
export function podDeadlineJobOptions(data: PodJobData, delayMs: number): JobsOptions {
  return {
    deduplication: { id: `${podJobKey(data)}#deadline` },
    delay: Math.max(0, delayMs),
    attempts: POD_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: POD_JOB_BACKOFF_MS, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: 1000,
  };
}

/**
 * The node-wide resync job (one pending at a time): a worker compares the
 * node's pods, the provider's pods and the status digests in memory and
 * enqueues only the pods with work nobody is doing, then deletes orphans.
 */
export const RESYNC_JOB: { data: PodJobData; options: JobsOptions } = {
  data: { namespace: '', name: '', uid: '', resourceVersion: '', op: 'resync' },
  options: { deduplication: { id: '__resync__', keepLastIfActive: true }, removeOnComplete: true, removeOnFail: 100, attempts: 3 },
};

/** The node-wide batch status sync job: one provider list instead of one call per pod per tick. */
export const STATUS_SYNC_JOB: { data: PodJobData; options: JobsOptions } = {
  data: { namespace: '', name: '', uid: '', resourceVersion: '', op: 'status' },
  options: { deduplication: { id: '__status-sync__' }, removeOnComplete: true, removeOnFail: 100, attempts: 1 },
};

/** Redis key of the per-pod fencing lock (a backstop against a stalled job re-run beside a live one). */
export function podLockKey(nodeName: string, data: Pick<PodJobData, 'namespace' | 'name'>): string {
  return `vk-lock:${nodeName}:${podJobKey(data)}`;
}

/** Redis hash uid → digest of the provider status last written to the pod, used by the batch status sync. */
export function podStatusDigestKey(nodeName: string): string {
  return `vk-status:${nodeName}`;
}
