import type { Readable } from 'node:stream';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { StatsSummary } from './stats-summary.ts';

/**
 * The provider interface, shared by all three services: the node side
 * (node-agent), the pod lifecycle side (pod-worker) and the streaming side
 * (kubelet-api). Providers never talk to the Kubernetes API: what they need
 * (resolved env, volume contents, tokens) is handed to them.
 */

/** Identity of a pod in the provider. Provider-side names derive from `uid`, so every call is idempotent. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export type OperatingSystem = 'linux' | 'windows';

/** What the node-agent publishes on the Node object, as the provider sees it. */
export interface NodeDescription {
  operatingSystem: OperatingSystem;
  architecture: string;
  /** Quantities as Kubernetes strings: `{ cpu: '20', memory: '100Gi', pods: '110' }`. */
  capacity: Record<string, string>;
  /** Defaults to capacity. */
  allocatable?: Record<string, string>;
  /** Extra node info (kernel, OS image, ...); the node-agent fills the rest. */
  osImage?: string;
  kernelVersion?: string;
}

/** Node side: health and shape of the virtual node. */
export interface NodeProvider {
  describeNode(): NodeDescription;
  /** Resolves when the provider backend is healthy; rejects with the reason otherwise. */
  ping(signal?: AbortSignal): Promise<void>;
}

/** A container's environment and command after every reference was resolved by us. */
export interface ResolvedContainer {
  name: string;
  image: string;
  command: string[];
  args: string[];
  /** Final values: ConfigMap/Secret refs, fieldRefs and `$(VAR)` already expanded. */
  env: Record<string, string>;
}

/** A volume's files after resolution (configMap, secret, projected, downwardAPI). */
export interface ResolvedVolume {
  name: string;
  kind: 'configMap' | 'secret' | 'projected' | 'downwardAPI' | 'emptyDir' | 'other';
  /** For kind `other`: the volume's source as the pod spec names it (`hostPath`, `persistentVolumeClaim`, `csi`, ...). */
  source?: string;
  /** Relative path → contents. Secret contents must only go to the provider's secret mechanism. */
  files: Record<string, Uint8Array>;
}

export interface ResolvedPod {
  /** The pod as read from the API server (spec unchanged). */
  pod: V1Pod;
  ref: PodRef;
  initContainers: ResolvedContainer[];
  containers: ResolvedContainer[];
  volumes: ResolvedVolume[];
}

/**
 * What the provider knows of one of its pods; mapped onto `pods/status` by the
 * pod-worker. `containerStatuses[].image` is the image as the pod spec names
 * it (the worker compares the two to apply image updates).
 */
export interface ProviderPod {
  ref: PodRef;
  status: V1PodStatus;
}

/** Pod lifecycle side. Every method may be called more than once for the same pod and must be idempotent. */
export interface PodLifecycleHandler {
  /**
   * Creates the pod's containers and answers the provider's view of the pod
   * right after; a second call for the same uid creates nothing and answers
   * the existing pod (so a worker need not ask first).
   */
  createPod(pod: ResolvedPod): Promise<ProviderPod>;
  /** Applies a spec change the provider supports (e.g. image update); others reject with PROVIDER_PERMANENT. */
  updatePod(pod: ResolvedPod): Promise<void>;
  /**
   * Stops and removes the pod; resolves once accepted, with what the
   * provider still has of it right after (undefined: nothing left), so that
   * the caller need not ask again. Absent pods are not an error.
   */
  deletePod(ref: PodRef, options: { gracePeriodSeconds: number }): Promise<ProviderPod | undefined>;
  /** The pod's current state in the provider, or undefined when it has no such pod. */
  getPod(ref: PodRef): Promise<ProviderPod | undefined>;
  /** Every pod this installation created (tagged by it): for orphan clean-up and batch status sync. */
  listPods(): Promise<ProviderPod[]>;
  /**
   * The same pods in pages of the provider's own size, for the node-wide
   * walks (batch status sync every few seconds, node resync): a worker then
   * holds one page at a time, not a 10,000-pod answer. A pod present for the
   * whole walk is in exactly one page. Optional: without it, `listPods` is
   * one page (see `providerPodPages`).
   */
  listPodPages?(): AsyncIterable<ProviderPod[]>;
}

/** A provider's pods page by page: `listPodPages` when it has it, otherwise `listPods` as one page. */
export async function* providerPodPages(provider: Pick<PodLifecycleHandler, 'listPods' | 'listPodPages'>): AsyncIterable<ProviderPod[]> {
  if (provider.listPodPages) {
    yield* provider.listPodPages();
    return;
  }
  yield await provider.listPods();
}

export interface LogOptions {
  tailLines?: number;
  limitBytes?: number;
  sinceSeconds?: number;
  sinceTime?: Date;
  timestamps?: boolean;
  follow?: boolean;
  previous?: boolean;
}

/** Streaming side (kubelet-api). Optional: a provider without it answers 501. */
export interface ContainerStreamer {
  /** A stream of log bytes; ends when the container ends (follow) or at the end of what exists. Destroying it releases everything. */
  getContainerLogs(ref: PodRef, container: string, options: LogOptions, signal: AbortSignal): Promise<Readable>;
}

/** Stats side (kubelet-api /stats/summary and /metrics/resource). Optional: a provider without it answers 501. */
export interface StatsProvider {
  /**
   * Resource usage of the node and of every pod the provider runs for it, in
   * the kubelet's Summary shape. Cumulative figures (usageCoreNanoSeconds)
   * never decrease for a running container; may be called often (every
   * metrics-server scrape), so it should answer from one backend call.
   */
  getStatsSummary(signal?: AbortSignal): Promise<StatsSummary>;
}

export interface Provider extends NodeProvider, PodLifecycleHandler, Partial<ContainerStreamer>, Partial<StatsProvider> {
  /** Provider name as in `--provider`: `mock`, `aws`, `azure`. */
  readonly name: string;
  /** Idempotent; releases clients and timers. */
  close(): Promise<void>;
}
