import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { V1ContainerState, V1ContainerStatus, V1PodStatus } from '@kubernetes/client-node';
import {
  ErrorCodes, VkError,
  type LogOptions, type NodeDescription, type PodRef, type Provider, type ProviderPod, type ResolvedPod,
} from '@vk-ts/core';
import type { MockContainer, MockPod, MockPodSpec } from './mock-backend.ts';

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

  constructor(options: MockProviderOptions) {
    this.#options = options;
  }

  describeNode(): NodeDescription {
    return this.#options.node;
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await this.#call('GET', '/healthz', undefined, signal);
  }

  async createPod(pod: ResolvedPod): Promise<void> {
    await this.#call('PUT', podPath(pod.ref), this.#spec(pod));
  }

  async updatePod(pod: ResolvedPod): Promise<void> {
    await this.#call('PATCH', podPath(pod.ref), this.#spec(pod));
  }

  async deletePod(ref: PodRef, options: { gracePeriodSeconds: number }): Promise<void> {
    await this.#call('DELETE', `${podPath(ref)}?gracePeriodSeconds=${Math.max(0, Math.floor(options.gracePeriodSeconds))}`);
  }

  async getPod(ref: PodRef): Promise<ProviderPod | undefined> {
    try {
      return this.#toProviderPod(await this.#call<MockPod>('GET', podPath(ref)));
    } catch (err) {
      if ((err as VkError).code === ErrorCodes.PROVIDER_NOT_FOUND) return undefined;
      throw err;
    }
  }

  async listPods(): Promise<ProviderPod[]> {
    const pods = await this.#call<MockPod[]>('GET', `/v1/pods?node=${encodeURIComponent(this.#options.nodeName)}`);
    return pods.map((p) => this.#toProviderPod(p));
  }

  async getContainerLogs(ref: PodRef, container: string, options: LogOptions, signal: AbortSignal): Promise<Readable> {
    if (options.previous) {
      throw new VkError(ErrorCodes.PROVIDER_NOT_FOUND, `previous terminated container "${container}" in pod "${ref.namespace}/${ref.name}" not found`);
    }
    const q = new URLSearchParams();
    if (options.tailLines !== undefined) q.set('tailLines', String(options.tailLines));
    if (options.limitBytes !== undefined) q.set('limitBytes', String(options.limitBytes));
    const since = options.sinceTime ?? (options.sinceSeconds !== undefined ? new Date(Date.now() - options.sinceSeconds * 1000) : undefined);
    if (since) q.set('sinceTime', since.toISOString());
    if (options.timestamps) q.set('timestamps', 'true');
    if (options.follow) q.set('follow', 'true');
    const res = await this.#fetch('GET', `${podPath(ref)}/logs/${encodeURIComponent(container)}?${q}`, undefined, signal, 0);
    if (!res.body) return Readable.from([]);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  async close(): Promise<void> {
    // fetch's connection pool is process-wide; nothing of ours to release.
  }

  #spec(pod: ResolvedPod): MockPodSpec {
    const container = (c: ResolvedPod['containers'][number]) => ({ name: c.name, image: c.image, command: c.command, args: c.args, env: c.env });
    return {
      node: this.#options.nodeName,
      ref: pod.ref,
      containers: pod.containers.map(container),
      initContainers: pod.initContainers.map(container),
      volumes: pod.volumes.map((v) => ({
        name: v.name, kind: v.kind,
        files: Object.fromEntries(Object.entries(v.files).map(([path, data]) => [path, createHash('sha256').update(data).digest('hex')])),
      })),
    };
  }

  #toProviderPod(pod: MockPod): ProviderPod {
    const containerStatuses = pod.containers.map((c) => toContainerStatus(pod, c));
    const allTerminated = containerStatuses.every((c) => c.state?.terminated);
    const anyFailed = containerStatuses.some((c) => (c.state?.terminated?.exitCode ?? 0) !== 0);
    const anyWaiting = containerStatuses.some((c) => c.state?.waiting);
    const phase = allTerminated ? (anyFailed ? 'Failed' : 'Succeeded') : anyWaiting ? 'Pending' : 'Running';
    const status: V1PodStatus = {
      phase,
      podIP: pod.podIP,
      podIPs: [{ ip: pod.podIP }],
      startTime: pod.createdAt as unknown as Date,
      containerStatuses,
      // The mock runs init containers instantly and successfully, before the pod's containers.
      ...(pod.spec.initContainers.length ? {
        initContainerStatuses: pod.spec.initContainers.map((c): V1ContainerStatus => ({
          name: c.name, image: c.image, imageID: `mock://${c.image}`, containerID: `mock://${pod.spec.ref.uid}/${c.name}`,
          ready: true, started: false, restartCount: 0,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: pod.createdAt as unknown as Date, finishedAt: pod.createdAt as unknown as Date } },
        })),
      } : {}),
      ...(this.#options.hostIP ? { hostIP: this.#options.hostIP, hostIPs: [{ ip: this.#options.hostIP }] } : {}),
    };
    return { ref: pod.spec.ref, status };
  }

  async #call<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.#fetch(method, path, body, signal, this.#options.requestTimeoutMs ?? 10_000);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async #fetch(method: string, path: string, body: unknown, signal: AbortSignal | undefined, timeoutMs: number): Promise<Response> {
    const signals = [signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
    let res: Response;
    try {
      res = await fetch(new URL(path, this.#options.endpoint), {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signals.length ? AbortSignal.any(signals) : undefined,
      });
    } catch (cause) {
      throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `mock backend ${method} ${path.split('?')[0]} failed: ${(cause as Error).message}`, { cause });
    }
    if (res.ok) return res;
    const payload = (await res.json().catch(() => ({}))) as { message?: string };
    const message = `mock backend ${method} ${path.split('?')[0]} answered ${res.status}: ${payload.message ?? res.statusText}`;
    if (res.status === 404) throw new VkError(ErrorCodes.PROVIDER_NOT_FOUND, message);
    if (res.status >= 400 && res.status < 500) throw new VkError(ErrorCodes.PROVIDER_PERMANENT, message);
    throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, message);
  }
}

function podPath(ref: PodRef): string {
  return `/v1/pods/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.name)}/${encodeURIComponent(ref.uid)}`;
}

function toContainerStatus(pod: MockPod, c: MockContainer): V1ContainerStatus {
  let state: V1ContainerState;
  const s = c.state;
  if (s.state === 'running') state = { running: { startedAt: s.startedAt as unknown as Date } };
  else if (s.state === 'waiting') state = { waiting: { reason: s.reason } };
  else state = { terminated: { exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt as unknown as Date, finishedAt: s.finishedAt as unknown as Date } };
  return {
    name: c.name,
    image: c.image,
    imageID: `mock://${c.image}`,
    containerID: `mock://${pod.spec.ref.uid}/${c.name}`,
    ready: s.state === 'running',
    started: s.state === 'running',
    restartCount: c.restartCount,
    state,
  };
}
