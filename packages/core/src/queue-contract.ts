/**
 * The contract between node-agent (producer) and pod-worker (consumer).
 * A job is a pointer to a pod, never a command and never pod contents
 * (DESIGN invariants 2 and 4): the worker reads the latest pod itself.
 */

export type PodOperation = 'create' | 'update' | 'delete' | 'resync';

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

/** Retry policy of reconcile jobs: exponential from 1 s; permanent errors skip retries. */
export const POD_JOB_ATTEMPTS = 8;
export const POD_JOB_BACKOFF_MS = 1000;
