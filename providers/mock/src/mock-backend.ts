import { EventEmitter } from 'node:events';
import type { PodRef } from '@vk-ts/core';

/**
 * The state of the mock "cloud": what a real provider's backend (ECS, ACI)
 * would hold. It lives in one process (the mock backend server) so that the
 * three services, each in its own process, see the same pods, the way they
 * share a real cloud account. Fault injection is part of it so every failure
 * path of the pipeline can be tested.
 */

export interface MockContainerSpec {
  name: string;
  image: string;
  /** On an init container, 'Always' makes it a sidecar: it runs beside the pod's containers, restarted on exit. */
  restartPolicy?: 'Always';
  command: string[];
  args: string[];
  env: Record<string, string>;
}

export interface MockVolume {
  name: string;
  kind: string;
  /** Path → hex SHA-256 of the contents. */
  files: Record<string, string>;
}

export interface MockPodSpec {
  node: string;
  ref: PodRef;
  containers: MockContainerSpec[];
  initContainers: MockContainerSpec[];
  /** The pod's restartPolicy (absent: Always, the Kubernetes default): what an exited container does. */
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  /** The volumes handed over; file contents are kept only as SHA-256 digests (they may hold secrets). */
  volumes: MockVolume[];
}

export type MockContainerState =
  | { state: 'waiting'; reason: string; message?: string }
  | { state: 'running'; startedAt: string }
  | { state: 'terminated'; exitCode: number; reason: string; startedAt: string; finishedAt: string };

export interface MockContainer {
  name: string;
  image: string;
  /** A sidecar (an init container with restartPolicy Always): runs and restarts like a container, reported as an init container. */
  sidecar?: boolean;
  state: MockContainerState;
  restartCount: number;
  /** How the container last ended, once it has been restarted (or is waiting to be). */
  lastState?: MockContainerState;
  /** The log of the run before the current one (`kubectl logs --previous`), once restarted. */
  previousLogs?: { time: string; line: string }[];
  /** Log lines with their timestamps (RFC 3339). */
  logs: { time: string; line: string }[];
  cpuNanoCores: number;
  memoryBytes: number;
  /**
   * CPU used up to `cpuSince` (core-nanoseconds); while running, it grows at
   * `cpuNanoCores` from `cpuSince` on. Banked at each usage change and when
   * the container ends, so that cumulative CPU never goes down, as a
   * cgroup's does not (metrics-server drops a node or pod whose counter falls).
   */
  cpuBanked: number;
  cpuSince?: string;
}

/** A container's cumulative CPU in core-nanoseconds at `nowMs`. */
export function containerCpuUsed(c: Pick<MockContainer, 'cpuBanked' | 'cpuSince' | 'cpuNanoCores'>, nowMs: number): number {
  if (c.cpuSince === undefined) return c.cpuBanked;
  return c.cpuBanked + c.cpuNanoCores * Math.max(0, nowMs - Date.parse(c.cpuSince)) / 1000;
}

/** A pod's cumulative CPU: its containers', ended ones included. */
export function podCpuUsed(pod: Pick<MockPod, 'containers'>, nowMs: number): number {
  return pod.containers.reduce((sum, c) => sum + containerCpuUsed(c, nowMs), 0);
}

export interface MockPod {
  spec: MockPodSpec;
  podIP: string;
  createdAt: string;
  containers: MockContainer[];
  /** Set by a delete; the pod is removed once every container has stopped. */
  deleting: boolean;
}

export interface MockFaults {
  /** The next N creates fail. */
  failCreates: number;
  /** How they fail: transient (retry) or permanent (bad request). */
  failCreatesKind: 'transient' | 'permanent';
  /** Images that every create or update refuses (like a registry 404): an `image` error. */
  rejectImages: string[];
  /**
   * How long a container that exited waits before its restart (restartPolicy Always, or OnFailure with a
   * non-zero exit), doubling at each restart up to 5 minutes, as the kubelet's CrashLoopBackOff does
   * (10 s first there; tests set less).
   */
  restartDelayMs: number;
  /** ping() fails while false. */
  healthy: boolean;
  /** Containers stay waiting (ContainerCreating) this long after create. */
  startLatencyMs: number;
  /**
   * A graceful delete (grace > 0) leaves the containers running this long, like
   * a process slow to exit on SIGTERM. The mock does not enforce the grace
   * period itself (some real backends do not): the caller must force it.
   */
  stopLatencyMs: number;
  /**
   * Every pod API call (`/v1/pods...`) answers this much later, like a slow
   * cloud API (a Fargate RunTask or an ACI PUT takes hundreds of ms). The
   * benchmark's worker-scaling scenario uses it.
   */
  callLatencyMs: number;
}

export class MockBackendError extends Error {
  readonly status: number;
  /** 'image': a container's image cannot be had (400, with `container` and `image` in the answer). */
  readonly kind: 'not-found' | 'transient' | 'permanent' | 'image';
  readonly details: Record<string, string> | undefined;
  constructor(kind: MockBackendError['kind'], message: string, details?: Record<string, string>) {
    super(message);
    this.kind = kind;
    this.details = details;
    this.status = kind === 'not-found' ? 404 : kind === 'transient' ? 503 : 400;
  }
}

export function mockPodKey(ref: PodRef): string {
  return `${ref.namespace}/${ref.name}/${ref.uid}`;
}

export class MockBackend {
  readonly #pods = new Map<string, MockPod>();
  readonly #removedCpu = new Map<string, number>();
  /** Creates per pod key over the backend's life: tests assert "exactly once". */
  readonly createCounts = new Map<string, number>();
  readonly events = new EventEmitter();
  readonly faults: MockFaults = { failCreates: 0, failCreatesKind: 'transient', rejectImages: [], restartDelayMs: 10_000, healthy: true, startLatencyMs: 0, stopLatencyMs: 0, callLatencyMs: 0 };
  #nextIp = 0;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor() {
    this.events.setMaxListeners(0);
  }

  setFaults(faults: Partial<MockFaults>): MockFaults {
    Object.assign(this.faults, faults);
    return this.faults;
  }

  /** Idempotent by pod key: a second create of the same uid changes nothing. */
  create(spec: MockPodSpec): MockPod {
    const key = mockPodKey(spec.ref);
    const existing = this.#pods.get(key);
    if (existing) return existing;
    const rejected = [...spec.initContainers, ...spec.containers].find((c) => this.faults.rejectImages.includes(c.image));
    if (rejected) throw new MockBackendError('image', `image "${rejected.image}" not found in registry`, { container: rejected.name, image: rejected.image });
    if (this.faults.failCreates > 0) {
      this.faults.failCreates -= 1;
      throw new MockBackendError(this.faults.failCreatesKind, `injected ${this.faults.failCreatesKind} create failure`);
    }
    const now = new Date().toISOString();
    const n = this.#nextIp++;
    const starting = this.faults.startLatencyMs > 0;
    const pod: MockPod = {
      spec,
      podIP: `10.${244 + Math.floor(n / 65536) % 8}.${Math.floor(n / 256) % 256}.${n % 256}`,
      createdAt: now,
      deleting: false,
      // Sidecars start first, then the containers; plain init containers complete at once.
      containers: [...spec.initContainers.filter((c) => c.restartPolicy === 'Always').map((c) => ({ ...c, sidecar: true })), ...spec.containers].map((c) => ({
        name: c.name,
        image: c.image,
        ...('sidecar' in c ? { sidecar: true } : {}),
        state: starting ? { state: 'waiting', reason: 'ContainerCreating' } : { state: 'running', startedAt: now },
        restartCount: 0,
        logs: starting ? [] : [{ time: now, line: `mock: started container ${c.name} (${c.image})` }],
        cpuNanoCores: 1_000_000,
        memoryBytes: 8 * 1024 * 1024,
        cpuBanked: 0,
        ...(starting ? {} : { cpuSince: now }),
      })),
    };
    this.#pods.set(key, pod);
    this.createCounts.set(key, (this.createCounts.get(key) ?? 0) + 1);
    if (starting) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        const startedAt = new Date().toISOString();
        for (const c of pod.containers) {
          if (c.state.state !== 'waiting') continue;
          c.state = { state: 'running', startedAt };
          c.cpuSince = startedAt;
          this.appendLog(spec.ref, c.name, [`mock: started container ${c.name} (${c.image})`]);
        }
        this.events.emit('changed', key);
      }, this.faults.startLatencyMs);
      this.#timers.add(timer);
    }
    this.events.emit('changed', key);
    return pod;
  }

  update(spec: MockPodSpec): MockPod {
    const pod = this.#mustGet(spec.ref);
    const rejected = spec.containers.find((c) => this.faults.rejectImages.includes(c.image));
    if (rejected) throw new MockBackendError('image', `image "${rejected.image}" not found in registry`, { container: rejected.name, image: rejected.image });
    for (const c of pod.containers) {
      const next = spec.containers.find((s) => s.name === c.name);
      if (next && next.image !== c.image) {
        c.image = next.image;
        c.restartCount += 1;
      }
    }
    pod.spec = spec;
    this.events.emit('changed', mockPodKey(spec.ref));
    return pod;
  }

  /**
   * Stops every container (exit 0 unless already terminated) and removes the
   * pod: at once with grace 0 or without stop latency, else after
   * `stopLatencyMs` (a second call with grace 0 cuts that short). Absent pods are fine.
   */
  delete(ref: PodRef, gracePeriodSeconds = 0): void {
    const key = mockPodKey(ref);
    const pod = this.#pods.get(key);
    if (!pod) return;
    if (gracePeriodSeconds > 0 && this.faults.stopLatencyMs > 0) {
      if (pod.deleting) return;
      pod.deleting = true;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.delete(ref, 0);
      }, this.faults.stopLatencyMs);
      this.#timers.add(timer);
      return;
    }
    this.#terminateAll(pod, 0, 'Completed');
    this.#retire(pod);
    this.#pods.delete(key);
    this.events.emit('changed', key);
    this.events.emit(`ended:${key}`);
  }

  get(ref: PodRef): MockPod | undefined {
    return this.#pods.get(mockPodKey(ref));
  }

  list(node?: string): MockPod[] {
    const pods = [...this.#pods.values()];
    return node ? pods.filter((p) => p.spec.node === node) : pods;
  }

  /**
   * One page of `list(node)` in key order, starting after the key `after`
   * (the previous page's `continue`): a pod present for the whole walk is
   * listed exactly once, whatever is created or deleted between pages.
   */
  listPage(node: string | undefined, limit: number, after = ''): { items: MockPod[]; continue?: string } {
    const keys = [...this.#pods.keys()].filter((k) => !node || this.#pods.get(k)!.spec.node === node).sort();
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    const page = keys.slice(lo, lo + limit);
    const items = page.map((k) => this.#pods.get(k)!);
    return lo + limit < keys.length ? { items, continue: page[page.length - 1]! } : { items };
  }

  /** Fault: the pod vanishes from the backend without anyone asking. */
  lose(ref: PodRef): void {
    const pod = this.#pods.get(mockPodKey(ref));
    if (pod) this.#retire(pod);
    this.#pods.delete(mockPodKey(ref));
  }

  /** CPU (core-nanoseconds) that pods removed from `node` used: part of the node's cumulative CPU, which never goes down. */
  removedPodsCpuUsed(node: string): number {
    return this.#removedCpu.get(node) ?? 0;
  }

  /**
   * Fault/scenario: a container exits with a code. As a kubelet would, the
   * backend restarts it under the pod's restart policy (Always; OnFailure
   * after a non-zero exit): it waits in CrashLoopBackOff, with how it ended
   * as its last state, for `restartDelayMs` (doubling at each restart, at most
   * 5 minutes), then runs again with its restart count one higher.
   */
  exitContainer(ref: PodRef, container: string, exitCode: number): void {
    const pod = this.#mustGet(ref);
    const c = pod.containers.find((x) => x.name === container);
    if (!c) throw new MockBackendError('not-found', `pod ${mockPodKey(ref)} has no container "${container}"`);
    this.#terminate(c, exitCode, exitCode === 0 ? 'Completed' : 'Error');
    const policy = c.sidecar ? 'Always' : pod.spec.restartPolicy ?? 'Always';
    if (!pod.deleting && (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0))) this.#restartLater(pod, c);
    this.events.emit('changed', mockPodKey(ref));
    this.events.emit(`ended:${mockPodKey(ref)}/${container}`);
  }

  appendLog(ref: PodRef, container: string, lines: string[]): void {
    const pod = this.#mustGet(ref);
    const c = pod.containers.find((x) => x.name === container);
    if (!c) throw new MockBackendError('not-found', `pod ${mockPodKey(ref)} has no container "${container}"`);
    for (const line of lines) {
      const entry = { time: new Date().toISOString(), line };
      c.logs.push(entry);
      this.events.emit(`log:${mockPodKey(ref)}/${container}`, entry);
    }
  }

  /** Scenario: set a container's CPU (nanocores) and working-set memory (bytes); stats derive from them. */
  setUsage(ref: PodRef, container: string, usage: { cpuNanoCores?: number; memoryBytes?: number }): void {
    const c = this.#mustGet(ref).containers.find((x) => x.name === container);
    if (!c) throw new MockBackendError('not-found', `pod ${mockPodKey(ref)} has no container "${container}"`);
    if (usage.cpuNanoCores !== undefined) {
      const now = new Date();
      c.cpuBanked = containerCpuUsed(c, now.getTime());
      if (c.cpuSince !== undefined) c.cpuSince = now.toISOString();
      c.cpuNanoCores = usage.cpuNanoCores;
    }
    if (usage.memoryBytes !== undefined) c.memoryBytes = usage.memoryBytes;
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #mustGet(ref: PodRef): MockPod {
    const pod = this.#pods.get(mockPodKey(ref));
    if (!pod) throw new MockBackendError('not-found', `no pod ${mockPodKey(ref)} in the mock backend`);
    return pod;
  }

  #terminateAll(pod: MockPod, exitCode: number, reason: string): void {
    for (const c of pod.containers) {
      if (c.state.state !== 'terminated') {
        this.#terminate(c, exitCode, reason);
        this.events.emit(`ended:${mockPodKey(pod.spec.ref)}/${c.name}`);
      }
    }
  }

  #terminate(c: MockContainer, exitCode: number, reason: string): void {
    const at = new Date();
    const now = at.toISOString();
    const startedAt = c.state.state === 'running' ? c.state.startedAt : now;
    c.cpuBanked = containerCpuUsed(c, at.getTime());
    delete c.cpuSince;
    c.state = { state: 'terminated', exitCode, reason, startedAt, finishedAt: now };
  }

  #restartLater(pod: MockPod, c: MockContainer): void {
    const key = mockPodKey(pod.spec.ref);
    const delayMs = Math.min(this.faults.restartDelayMs * 2 ** c.restartCount, 300_000);
    c.lastState = c.state;
    c.state = { state: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delayMs / 1000)}s restarting failed container=${c.name} pod=${pod.spec.ref.name}_${pod.spec.ref.namespace}(${pod.spec.ref.uid})` };
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      // Not if the pod went, is going, or the container was ended meanwhile.
      if (this.#pods.get(key) !== pod || pod.deleting || c.state.state !== 'waiting') return;
      const startedAt = new Date().toISOString();
      c.state = { state: 'running', startedAt };
      c.cpuSince = startedAt;
      c.restartCount += 1;
      c.previousLogs = c.logs;
      c.logs = [];
      this.appendLog(pod.spec.ref, c.name, [`mock: restarted container ${c.name} (${c.image})`]);
      this.events.emit('changed', key);
    }, delayMs);
    this.#timers.add(timer);
  }

  #retire(pod: MockPod): void {
    this.#removedCpu.set(pod.spec.node, this.removedPodsCpuUsed(pod.spec.node) + podCpuUsed(pod, Date.now()));
  }
}
