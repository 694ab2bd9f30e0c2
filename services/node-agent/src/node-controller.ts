import {
  Backoff, PatchType, compareResourceVersions, delay, isKubeConflict, isKubeNotFound,
  type EventRecorder, type KubeRestClient, type Logger, type Provider,
} from '@vk-ts/core';
import type { NodeSettings } from './agent-config.ts';
import { planNodeMetadata, type NodeTaint } from './node-metadata-plan.ts';
import {
  appliedNodeMeta, microTime, newNodeObject, nodeStatus, stampConditions, type NodeCondition,
} from './node-object.ts';

export interface NodeControllerOptions {
  settings: NodeSettings;
  provider: Provider;
  client: KubeRestClient;
  events: EventRecorder;
  logger: Logger;
  leaseDurationSeconds: number;
  renewIntervalMs: number;
  statusUpdateIntervalMs: number;
  /** Called after each successful write of the node's Lease, with the renewTime written (metrics). */
  onLeaseRenewed?: (renewTime: Date) => void;
}

interface NodeObject {
  metadata: { name: string; uid: string; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { taints?: NodeTaint[] };
  status?: { conditions?: NodeCondition[]; capacity?: Record<string, string>; allocatable?: Record<string, string> };
}

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string; ownerReferences?: unknown[] };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

/**
 * Keeps one virtual Node alive: registers it, renews its Lease in
 * kube-node-lease every renew interval, posts status every status interval
 * (or at once after a change), re-creates it if it is deleted, and stops all
 * heartbeats while the provider's health check fails so that the node
 * lifecycle controller marks it NotReady, as it would a silent kubelet.
 */
export class NodeController {
  readonly #o: NodeControllerOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #node: NodeObject | undefined;
  #lease: LeaseObject | undefined;
  #healthy: boolean | undefined;
  #lastStatusAt = 0;
  #forceStatus = true;
  /** Capacity keys an earlier start advertised and the provider no longer has: removed by the next status write. */
  #staleResources: string[] = [];
  #startingRecorded = false;
  #wake: (() => void) | undefined;
  #loops: Promise<void>[] = [];
  #registered: { promise: Promise<void>; resolve: () => void };
  #closing: Promise<void> | undefined;

  constructor(options: NodeControllerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ node: options.settings.name });
    let resolve!: () => void;
    this.#registered = { promise: new Promise<void>((r) => { resolve = r; }), resolve };
  }

  get name(): string {
    return this.#o.settings.name;
  }

  /** True once the Node exists and we posted its status at least once. */
  get registered(): boolean {
    return this.#node !== undefined && this.#lastStatusAt > 0;
  }

  /** Resolves when the node is first registered with status. */
  whenRegistered(): Promise<void> {
    return this.#registered.promise;
  }

  start(): void {
    this.#loops.push(this.#heartbeatLoop(), this.#watchLoop());
  }

  /** Stops all loops (no more writes); idempotent. The Node and its Lease stay. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      this.#wake?.();
      await Promise.allSettled(this.#loops);
    })();
    return this.#closing;
  }

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = new Backoff({ initialMs: 500, maxMs: Math.max(1000, this.#o.renewIntervalMs) });
    while (!signal.aborted) {
      let waitMs = this.#o.renewIntervalMs;
      try {
        await this.#beat(signal);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        // Whatever failed, the status is written whole at the next beat that gets through: while we could not
        // write, the node lifecycle controller may have marked the node Unknown.
        this.#forceStatus = true;
        waitMs = backoff.next();
        this.#log.warn({ err, retryInMs: waitMs }, 'node heartbeat failed; retrying');
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        void delay(waitMs, signal).then(resolve);
      });
      this.#wake = undefined;
    }
  }

  async #beat(signal: AbortSignal): Promise<void> {
    const healthy = await this.#checkProvider(signal);
    if (!healthy) return;
    if (!this.#node) await this.#register();
    const due = Date.now() - this.#lastStatusAt >= this.#o.statusUpdateIntervalMs;
    if (this.#forceStatus || due) {
      try {
        await this.#postStatus();
      } catch (err) {
        // The Lease is the heartbeat the node lifecycle controller reads: it is renewed whatever became of the
        // status write (the kubelet renews it in a loop of its own), so a refused status write (RBAC, an invalid
        // field, throttling) alone never makes the node NotReady. The status is tried again at the next beat.
        if (!this.#node) throw err;
        this.#log.warn({ err }, 'cannot write the node status; renewing the Lease anyway and trying the status again at the next beat');
      }
    }
    await this.#renewLease();
  }

  async #checkProvider(signal: AbortSignal): Promise<boolean> {
    const timeout = AbortSignal.timeout(Math.max(1000, this.#o.renewIntervalMs));
    let healthy: boolean;
    let reason = '';
    try {
      await this.#o.provider.ping(AbortSignal.any([signal, timeout]));
      healthy = true;
    } catch (err) {
      healthy = false;
      reason = (err as Error).message;
    }
    if (signal.aborted) return false;
    if (healthy !== this.#healthy) {
      const was = this.#healthy;
      this.#healthy = healthy;
      if (!healthy) {
        this.#log.warn({ reason }, 'provider health check failed: stopping heartbeats so the node goes NotReady');
        if (this.#node) void this.#nodeEvent('Warning', 'NodeNotReady', `Provider health check failed: ${reason}`);
      } else if (was === false) {
        this.#log.info('provider healthy again: resuming heartbeats');
        // Re-read the node: the lifecycle controller changed its conditions while we were silent.
        this.#node = undefined;
        this.#forceStatus = true;
      }
    }
    return healthy;
  }

  async #register(): Promise<void> {
    const { settings, provider, client } = this.#o;
    const desc = provider.describeNode();
    const path = `/api/v1/nodes/${encodeURIComponent(settings.name)}`;
    let node: NodeObject;
    try {
      node = await client.get<NodeObject>(path);
      const plan = planNodeMetadata({ ...node.metadata, taints: node.spec?.taints, capacity: Object.keys(node.status?.capacity ?? {}) }, appliedNodeMeta(settings, desc));
      // A conflict (the taints' precondition) is retried by the next beat, from a fresh read.
      if (plan.patch) node = await client.patch<NodeObject>(path, plan.patch, PatchType.StrategicMerge);
      this.#staleResources = plan.staleResources;
      this.#log.info({ uid: node.metadata.uid }, 'node already registered');
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
      node = await client.create<NodeObject>('/api/v1/nodes', newNodeObject(settings, desc));
      this.#log.info({ uid: node.metadata.uid }, 'node registered');
      this.#staleResources = [];
      this.#node = node;
      this.#recordStarting();
      void this.#nodeEvent('Normal', 'RegisteredNode', `Node ${settings.name} registered with provider ${provider.name}`);
    }
    this.#recordStarting();
    this.#node = node;
    this.#lease = undefined;
    this.#forceStatus = true;
  }

  /** Once per process, as the kubelet records "Starting kubelet." at every start, also on a Node that exists. */
  #recordStarting(): void {
    if (this.#startingRecorded) return;
    this.#startingRecorded = true;
    void this.#nodeEvent('Normal', 'Starting', 'Starting virtual-kubelet-ts.');
  }

  async #postStatus(): Promise<void> {
    const { settings, provider, client } = this.#o;
    const node = this.#node!;
    const wasReady = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const conditions = stampConditions(node.status?.conditions, new Date().toISOString());
    const status = nodeStatus(settings, provider.describeNode(), conditions) as { capacity: Record<string, string | null>; allocatable: Record<string, string | null> };
    // A null removes the key (a merge patch keeps the map keys it does not name).
    for (const key of this.#staleResources) {
      if (node.status?.capacity?.[key] !== undefined) status.capacity = { ...status.capacity, [key]: null };
      if (node.status?.allocatable?.[key] !== undefined) status.allocatable = { ...status.allocatable, [key]: null };
    }
    const body = { status };
    // Cleared before the write: the Node's watch may ask for another while it is on its way (Ready set Unknown).
    this.#forceStatus = false;
    try {
      // Bounded by the renew interval: an API server asking to retry later must not hold up the Lease renewal after it.
      const written = await client.patch<NodeObject>(`/api/v1/nodes/${encodeURIComponent(settings.name)}/status`, body, PatchType.StrategicMerge,
        { signal: AbortSignal.timeout(Math.max(1000, this.#o.renewIntervalMs)) });
      // The watch may have brought a newer Node meanwhile: the newer one stays.
      // (None: the watch saw the Node deleted, and the next beat registers it again.)
      const current = this.#node;
      if (current && (compareResourceVersions(written.metadata.resourceVersion, current.metadata.resourceVersion) ?? 1) > 0) this.#node = written;
    } catch (err) {
      this.#forceStatus = true;
      if (isKubeNotFound(err)) {
        this.#log.warn('node object is gone: re-creating it');
        this.#node = undefined;
      }
      throw err;
    }
    this.#lastStatusAt = Date.now();
    this.#staleResources = [];
    if (!wasReady) {
      this.#log.info('node is Ready');
      void this.#nodeEvent('Normal', 'NodeReady', `Node ${settings.name} status is now: NodeReady`);
    }
    this.#registered.resolve();
  }

  async #renewLease(): Promise<void> {
    const { settings, client, leaseDurationSeconds } = this.#o;
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${encodeURIComponent(settings.name)}`;
    const node = this.#node!;
    const now = new Date();
    const renewTime = microTime(now);
    if (!this.#lease) {
      try {
        this.#lease = await client.get<LeaseObject>(path);
      } catch (err) {
        if (!isKubeNotFound(err)) throw err;
        this.#lease = await client.create<LeaseObject>('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name: settings.name,
            namespace: 'kube-node-lease',
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: settings.name, uid: node.metadata.uid }],
          },
          spec: { holderIdentity: settings.name, leaseDurationSeconds, renewTime },
        });
        this.#o.onLeaseRenewed?.(now);
        return;
      }
    }
    const lease = this.#lease;
    const next = {
      ...lease,
      metadata: {
        ...lease.metadata,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: settings.name, uid: node.metadata.uid }],
      },
      spec: { ...lease.spec, holderIdentity: settings.name, leaseDurationSeconds, renewTime },
    };
    try {
      this.#lease = await client.replace<LeaseObject>(path, next);
      this.#o.onLeaseRenewed?.(now);
    } catch (err) {
      // Conflict: someone else wrote it; Not found: the GC removed it with an old Node. Re-read next beat.
      if (isKubeConflict(err) || isKubeNotFound(err)) this.#lease = undefined;
      throw err;
    }
  }

  /**
   * Watches our Node so that a deletion is repaired at once, not at the next
   * status update, and so that the status is written from the Node as it is:
   * a Ready condition someone else changed (the node lifecycle controller sets
   * Unknown when our Lease lapsed, e.g. while the API server was out of reach)
   * is written back at once, with a new transition time and a NodeReady event.
   */
  async #watchLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    const { client, settings } = this.#o;
    while (!signal.aborted) {
      try {
        await client.watch<NodeObject>('/api/v1/nodes', {
          fieldSelector: `metadata.name=${settings.name}`,
          allowWatchBookmarks: true,
          timeoutSeconds: 300,
        }, (event) => {
          backoff.reset();
          if (event.type === 'DELETED') {
            this.#log.warn({ uid: event.object.metadata.uid }, 'node object was deleted: re-creating it');
            this.#node = undefined;
            this.#lease = undefined;
            this.#wake?.();
          } else if ((event.type === 'ADDED' || event.type === 'MODIFIED') && this.#node?.metadata.uid === event.object.metadata.uid) {
            if ((compareResourceVersions(event.object.metadata.resourceVersion, this.#node.metadata.resourceVersion) ?? 1) <= 0) return;
            this.#node = event.object;
            const ready = event.object.status?.conditions?.find((c) => c.type === 'Ready');
            if (ready?.status !== 'True' && this.#healthy) {
              this.#forceStatus = true;
              this.#wake?.();
            }
          }
        }, signal);
      } catch (err) {
        if (signal.aborted) break;
        const waitMs = backoff.next();
        this.#log.warn({ err, retryInMs: waitMs }, 'node watch failed; retrying');
        await delay(waitMs, signal);
      }
    }
  }

  #nodeEvent(type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const name = this.#o.settings.name;
    // The kubelet sets the Node event's uid to the node name.
    return this.#o.events.record({ kind: 'Node', name, uid: name }, type, reason, message);
  }
}
