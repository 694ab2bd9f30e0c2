import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { V1ContainerState, V1ContainerStatus, V1PodStatus } from '@kubernetes/client-node';
import {
  ErrorCodes, VkError,
  type LogOptions, type NodeDescription, type PodRef, type Provider, type ProviderPod, type ResolvedPod, type StatsSummary,
} from '@vk-ts/core';
import { mockStatsSummary } from './mock-stats.ts';
import type { MockContainer, MockContainerState, MockPod, MockPodSpec } from './mock-backend.ts';

/** Pods per page of the node-wide listings (`listPodPages`): about 0.5 MB of JSON, a few milliseconds to parse. */
const LIST_PAGE = 500;

export interface MockProviderOptions {
  /** Base URL of the mock backend server, e.g. http://127.0.0.1:7070. */
  endpoint: string;
  /** Virtual node this provider instance serves. */
  nodeName: string;
  node: NodeDescription;
  /** Reported as the pods' hostIP. */
  hostIP?: string;
  /** Per-call timeout. */
  requestTimeoutMs?: number;
}

/**
 * The `mock` provider: a client of the mock backend, shaped like the real
 * providers (network calls, idempotent by pod UID, errors classified as
 * not-found / permanent / transient).
 */
export class MockProvider implements Provider {
  readonly name = 'mock';
  readonly #options: MockProviderOptions;
  readonly #startedAt = new Date();
  readonly #pool: Pool;
  /** Log streams hold their connection while open (logs -f): no cap, so they never queue behind each other or behind calls. */
  readonly #streams: Pool;

  constructor(options: MockProviderOptions) {
    this.#options = options;
    const origin = new URL(options.endpoint).origin;
    this.#pool = new Pool(origin, { connections: 64 });
    this.#streams = new Pool(origin, { connections: null, pipelining: 0 });
  }

  describeNode(): NodeDescription {
    return this.#options.node;
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await this.#call('GET', '/healthz', { shape: ANYTHING, signal });
  }

  async createPod(pod: ResolvedPod): Promise<ProviderPod> {
    return this.#toProviderPod(await this.#call('PUT', podPath(pod.ref), { shape: A_POD, body: this.#spec(pod) }));
  }

  async updatePod(pod: ResolvedPod): Promise<void> {
    await this.#call('PATCH', podPath(pod.ref), { shape: ANYTHING, body: this.#spec(pod) });
  }

  async deletePod(ref: PodRef, options: { gracePeriodSeconds: number }): Promise<ProviderPod | undefined> {
    const left = await this.#call('DELETE', `${podPath(ref)}?gracePeriodSeconds=${Math.max(0, Math.floor(options.gracePeriodSeconds))}`, { shape: WHAT_IS_LEFT });
    return left.pod ? this.#toProviderPod(left.pod) : undefined;
  }

  async getPod(ref: PodRef): Promise<ProviderPod | undefined> {
    const pod = await this.#call('GET', podPath(ref), { shape: A_POD, notFoundIsUndefined: true });
    return pod && this.#toProviderPod(pod);
  }

  async listPods(): Promise<ProviderPod[]> {
    const pods = await this.#call('GET', `/v1/pods?node=${encodeURIComponent(this.#options.nodeName)}`, { shape: A_POD_LIST });
    return pods.map((p) => this.#toProviderPod(p));
  }

  /** Pages of LIST_PAGE pods, as a cloud API pages its listings. */
  async *listPodPages(): AsyncIterable<ProviderPod[]> {
    let cont: string | undefined = '';
    while (cont !== undefined) {
      const page: PodPage = await this.#call('GET',
        `/v1/pods?node=${encodeURIComponent(this.#options.nodeName)}&limit=${LIST_PAGE}&continue=${encodeURIComponent(cont)}`, { shape: A_POD_PAGE });
      yield page.items.map((p) => this.#toProviderPod(p));
      cont = page.continue;
    }
  }

  async getContainerLogs(ref: PodRef, container: string, options: LogOptions, signal: AbortSignal): Promise<Readable> {
    const q = new URLSearchParams();
    if (options.previous) q.set('previous', 'true');
    if (options.tailLines !== undefined) q.set('tailLines', String(options.tailLines));
    if (options.limitBytes !== undefined) q.set('limitBytes', String(options.limitBytes));
    const since = options.sinceTime ?? (options.sinceSeconds !== undefined ? new Date(Date.now() - options.sinceSeconds * 1000) : undefined);
    if (since) q.set('sinceTime', since.toISOString());
    if (options.timestamps) q.set('timestamps', 'true');
    if (options.follow) q.set('follow', 'true');
    return (await this.#send('GET', `${podPath(ref)}/logs/${encodeURIComponent(container)}?${q}`, undefined, signal, 0, false, this.#streams)).body;
  }

  async getStatsSummary(signal?: AbortSignal): Promise<StatsSummary> {
    const snapshot = await this.#call('GET', `/v1/nodes/${encodeURIComponent(this.#options.nodeName)}/stats`, { shape: A_STATS_SNAPSHOT, signal });
    // Figures as of the backend's snapshot time, so that none runs ahead of a removal it has not seen.
    return mockStatsSummary(this.#options.nodeName, this.#startedAt, snapshot.pods, new Date(snapshot.at), snapshot.removedPodsCpuUsed);
  }

  async close(): Promise<void> {
    await Promise.all([this.#pool.destroy(), this.#streams.destroy()]);
  }

  /**
   * The pod as the backend takes it. A volume the mock cannot mount (a node's
   * hostPath, a PersistentVolumeClaim, CSI, NFS, ...) is refused, naming it,
   * before any call: running the pod without it would lose its data silently.
   */
  #spec(pod: ResolvedPod): MockPodSpec {
    const unsupported = pod.volumes.filter((v) => v.kind === 'other');
    if (unsupported.length) {
      throw new VkError(ErrorCodes.POD_INVALID, `the mock provider cannot mount ${unsupported.map((v) => `volume "${v.name}" (${v.source ?? 'unknown source'})`).join(', ')}: it mounts configMap, secret, projected, downwardAPI and emptyDir volumes`);
    }
    const container = (c: ResolvedPod['containers'][number]) => ({ name: c.name, image: c.image, command: c.command, args: c.args, env: c.env });
    const sidecars = new Set((pod.pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
    return {
      node: this.#options.nodeName,
      ref: pod.ref,
      containers: pod.containers.map(container),
      initContainers: pod.initContainers.map((c) => ({ ...container(c), ...(sidecars.has(c.name) ? { restartPolicy: 'Always' as const } : {}) })),
      restartPolicy: (pod.pod.spec?.restartPolicy ?? 'Always') as MockPodSpec['restartPolicy'],
      volumes: pod.volumes.map((v) => ({
        name: v.name, kind: v.kind,
        files: Object.fromEntries(Object.entries(v.files).map(([path, data]) => [path, createHash('sha256').update(data).digest('hex')])),
      })),
    };
  }

  #toProviderPod(pod: MockPod): ProviderPod {
    const containerStatuses = pod.containers.filter((c) => !c.sidecar).map((c) => toContainerStatus(pod, c));
    const sidecars = new Map(pod.containers.filter((c) => c.sidecar).map((c) => [c.name, c]));
    const status: V1PodStatus = {
      phase: podPhase(containerStatuses, pod.spec.restartPolicy ?? 'Always'),
      podIP: pod.podIP,
      podIPs: [{ ip: pod.podIP }],
      startTime: pod.createdAt as unknown as Date,
      containerStatuses,
      // The mock runs init containers instantly and successfully, before the pod's containers; sidecars run beside them.
      ...(pod.spec.initContainers.length ? {
        initContainerStatuses: pod.spec.initContainers.map((c): V1ContainerStatus => (sidecars.has(c.name) ? toContainerStatus(pod, sidecars.get(c.name)!) : {
          name: c.name, image: c.image, imageID: `mock://${c.image}`, containerID: `mock://${pod.spec.ref.uid}/${c.name}`,
          ready: true, started: false, restartCount: 0,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: pod.createdAt as unknown as Date, finishedAt: pod.createdAt as unknown as Date } },
        })),
      } : {}),
      ...(this.#options.hostIP ? { hostIP: this.#options.hostIP, hostIPs: [{ ip: this.#options.hostIP }] } : {}),
    };
    return { ref: pod.spec.ref, status };
  }

  /**
   * The JSON answer, checked against `shape` where it is read: an answer of
   * another shape (a proxy's `null` or `{}`) rejects as transient, naming the
   * call and what came, instead of reading as "no pod" or failing later as a
   * bare TypeError. With `notFoundIsUndefined`, a 404 answers undefined
   * instead of rejecting (no exception on a hot path).
   */
  #call<T>(method: string, path: string, options: CallOptions<T> & { notFoundIsUndefined: true }): Promise<T | undefined>;
  #call<T>(method: string, path: string, options: CallOptions<T>): Promise<T>;
  async #call<T>(method: string, path: string, options: CallOptions<T> & { notFoundIsUndefined?: boolean }): Promise<T | undefined> {
    const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
    const res = await this.#send(method, path, options.body, options.signal, timeoutMs, options.notFoundIsUndefined);
    if (res.statusCode === 404) {
      await res.body.dump().catch(() => undefined);
      return undefined;
    }
    const what = `mock backend ${method} ${path.split('?')[0]}`;
    const text = await res.body.text().catch((cause: unknown) => {
      throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `${what} failed: ${(cause as Error).message}`, { cause });
    });
    // A 2xx whose body is not the JSON asked for (a proxy's page, a cut-off answer) may pass: transient, named.
    if (!text) throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `${what} answered ${res.statusCode} with an empty body`);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch (cause) {
      throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `${what} answered ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, { cause });
    }
    if (!options.shape.is(answer)) {
      throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `${what} answered ${res.statusCode} with a body that is not ${options.shape.name}: ${text.slice(0, 200)}`);
    }
    return answer;
  }

  /**
   * One request to the backend over a keep-alive pool (undici's request API:
   * a pod-worker makes thousands of these per burst, and it costs about half
   * the CPU of node:http per call, a fraction of fetch's). `timeoutMs` bounds
   * the wait for headers and each pause in the body (0: none). Resolves with
   * the response on 2xx; otherwise rejects with PROVIDER_NOT_FOUND (404),
   * PROVIDER_IMAGE_PULL (400 of kind "image"), PROVIDER_TRANSIENT (408 and
   * 429: the call may pass later, as 5xx, network errors and timeouts) or
   * PROVIDER_PERMANENT (other 4xx).
   */
  async #send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, timeoutMs: number, resolveNotFound = false,
    pool = this.#pool): Promise<Dispatcher.ResponseData> {
    const what = `mock backend ${method} ${path.split('?')[0]}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await pool.request({
        method: method as Dispatcher.HttpMethod, path, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `${what} failed: ${(cause as Error).message}`, { cause });
    }
    const status = res.statusCode;
    if ((status >= 200 && status < 300) || (resolveNotFound && status === 404)) return res;
    const text = await res.body.text().catch(() => '');
    let answer: { message?: string; kind?: string; container?: string; image?: string } = {};
    try { answer = JSON.parse(text) as typeof answer; } catch { /* not JSON: no message */ }
    const message = answer.message ?? '';
    const full = `${what} answered ${status}: ${message || text.slice(0, 200) || '(no reason given)'}`;
    if (status === 400 && answer.kind === 'image') {
      throw new VkError(ErrorCodes.PROVIDER_IMAGE_PULL, full, { details: { container: answer.container ?? '', image: answer.image ?? '' } });
    }
    const code = status === 404 ? ErrorCodes.PROVIDER_NOT_FOUND
      : status === 408 || status === 429 ? ErrorCodes.PROVIDER_TRANSIENT
        : status >= 400 && status < 500 ? ErrorCodes.PROVIDER_PERMANENT : ErrorCodes.PROVIDER_TRANSIENT;
    throw new VkError(code, full);
  }
}

interface CallOptions<T> {
  /** What the answer must be. */
  shape: Shape<T>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/** A shape a backend answer is checked against: `name` completes "a body that is not …". */
interface Shape<T> {
  name: string;
  is: (value: unknown) => value is T;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A pod as `#toProviderPod` and the stats read it: the fields they walk into
 * are there (a ref of strings, container lists whose entries have a name and
 * a state). Leaves are not checked further.
 */
function isMockPod(value: unknown): value is MockPod {
  if (!isRecord(value) || !isRecord(value['spec']) || !isRecord(value['spec']['ref'])) return false;
  const { spec, containers } = value;
  const ref = spec['ref'] as Record<string, unknown>;
  const isContainer = (c: unknown): boolean => isRecord(c) && typeof c['name'] === 'string' && isRecord(c['state'])
    && (c['lastState'] === undefined || isRecord(c['lastState']));
  return typeof ref['namespace'] === 'string' && typeof ref['name'] === 'string' && typeof ref['uid'] === 'string'
    && Array.isArray(spec['initContainers']) && spec['initContainers'].every((c) => isRecord(c) && typeof c['name'] === 'string')
    && Array.isArray(containers) && containers.every(isContainer);
}

const ANYTHING: Shape<unknown> = { name: 'JSON', is: (_value): _value is unknown => true };
const A_POD: Shape<MockPod> = { name: 'a pod', is: isMockPod };
const A_POD_LIST: Shape<MockPod[]> = { name: 'a list of pods', is: (value): value is MockPod[] => Array.isArray(value) && value.every(isMockPod) };
interface PodPage { items: MockPod[]; continue?: string }
const A_POD_PAGE: Shape<PodPage> = {
  name: 'a page of pods',
  is: (value): value is PodPage => isRecord(value) && A_POD_LIST.is(value['items'])
    && (value['continue'] === undefined || typeof value['continue'] === 'string'),
};
const WHAT_IS_LEFT: Shape<{ pod: MockPod | null }> = {
  name: '{"pod": a pod or null}',
  is: (value): value is { pod: MockPod | null } => isRecord(value) && (value['pod'] === null || isMockPod(value['pod'])),
};
const A_STATS_SNAPSHOT: Shape<{ at: string; pods: MockPod[]; removedPodsCpuUsed: number }> = {
  name: 'a stats snapshot',
  is: (value): value is { at: string; pods: MockPod[]; removedPodsCpuUsed: number } => isRecord(value) && typeof value['at'] === 'string'
    && A_POD_LIST.is(value['pods']) && typeof value['removedPodsCpuUsed'] === 'number',
};

function podPath(ref: PodRef): string {
  return `/v1/pods/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.name)}/${encodeURIComponent(ref.uid)}`;
}

/**
 * The pod's phase from its containers, by the kubelet's rules (getPhase):
 * Pending while one has never started; Running while one runs, or, when all
 * have stopped, while the restart policy restarts them (Always; OnFailure
 * after a failure); else Succeeded, or Failed when one failed under Never.
 * A container waiting to be restarted counts as stopped.
 */
export function podPhase(statuses: V1ContainerStatus[], restartPolicy: string): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let failed = 0;
  for (const c of statuses) {
    const ended = c.state?.terminated ?? (c.state?.waiting ? c.lastState?.terminated : undefined);
    if (c.state?.running) running += 1;
    else if (ended) {
      stopped += 1;
      if (ended.exitCode !== 0) failed += 1;
    } else waiting += 1;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === 0) return 'Pending';
  if (restartPolicy === 'Always') return 'Running';
  if (restartPolicy === 'OnFailure') return failed > 0 ? 'Running' : 'Succeeded';
  return failed > 0 ? 'Failed' : 'Succeeded';
}

function toV1State(s: MockContainerState): V1ContainerState {
  if (s.state === 'running') return { running: { startedAt: s.startedAt as unknown as Date } };
  if (s.state === 'waiting') return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
  return { terminated: { exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt as unknown as Date, finishedAt: s.finishedAt as unknown as Date } };
}

function toContainerStatus(pod: MockPod, c: MockContainer): V1ContainerStatus {
  const s = c.state;
  return {
    name: c.name,
    image: c.image,
    imageID: `mock://${c.image}`,
    containerID: `mock://${pod.spec.ref.uid}/${c.name}`,
    ready: s.state === 'running',
    started: s.state === 'running',
    restartCount: c.restartCount,
    state: toV1State(s),
    ...(c.lastState ? { lastState: toV1State(c.lastState) } : {}),
  };
}
