import { UnrecoverableError } from 'bullmq';
import type { V1Pod } from '@kubernetes/client-node';
import {
  ErrorCodes, PatchType, VkError, hasCode, isKubeConflict, isKubeNotFound, isPermanent,
  type EventRecorder, type KubeRestClient, type Logger, type PodJobData, type PodRef, type Provider,
} from '@vk-ts/core';
import { PodResolver } from './pod-resolver.ts';
import { desiredPodStatus, statusChanged } from './pod-status.ts';

export interface PodReconcilerOptions {
  client: KubeRestClient;
  provider: Provider;
  events: EventRecorder;
  logger: Logger;
  nodeName: string;
}

/**
 * One reconcile pass for one pod: read the latest pod, ask the provider what
 * it has, converge. Level-triggered: the job only names the pod.
 */
export class PodReconciler {
  readonly #o: PodReconcilerOptions;
  readonly #resolver: PodResolver;

  constructor(options: PodReconcilerOptions) {
    this.#o = options;
    this.#resolver = new PodResolver(options.client, options.events);
  }

  async reconcile(job: PodJobData): Promise<void> {
    if (job.op === 'resync' && job.name === '') return this.#sweepOrphans();
    const { client, provider } = this.#o;
    const jobRef: PodRef = { namespace: job.namespace, name: job.name, uid: job.uid };
    let pod: V1Pod;
    try {
      pod = await client.get<V1Pod>(`/api/v1/namespaces/${encodeURIComponent(job.namespace)}/pods/${encodeURIComponent(job.name)}`);
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
      await provider.deletePod(jobRef, { gracePeriodSeconds: 0 });
      return;
    }
    const ref: PodRef = { namespace: job.namespace, name: job.name, uid: pod.metadata!.uid! };
    if (ref.uid !== job.uid && job.uid) await provider.deletePod(jobRef, { gracePeriodSeconds: 0 });
    if (pod.spec?.nodeName !== this.#o.nodeName) return;

    if (pod.metadata?.deletionTimestamp) return this.#delete(pod, ref);
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;

    let provided = await provider.getPod(ref);
    if (!provided) {
      if ((pod.status?.containerStatuses?.length ?? 0) > 0 && pod.status?.containerStatuses?.some((c) => c.containerID)) {
        await this.#markLost(pod);
        return;
      }
      try {
        await provider.createPod(await this.#resolver.resolve(pod));
      } catch (err) {
        await this.#createFailed(pod, err);
        throw isPermanent(err) ? new UnrecoverableError((err as Error).message) : err;
      }
      provided = await provider.getPod(ref);
      if (!provided) throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `pod "${ref.namespace}/${ref.name}" not visible in the provider right after create`);
    }
    await this.#writeStatus(pod, desiredPodStatus(pod, provided, new Date().toISOString()));
  }

  async #delete(pod: V1Pod, ref: PodRef): Promise<void> {
    const { client, provider } = this.#o;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? 30;
    await provider.deletePod(ref, { gracePeriodSeconds: grace });
    const left = await provider.getPod(ref);
    const stopped = !left || (left.status.containerStatuses ?? []).every((c) => c.state?.terminated);
    const deadline = Date.parse(String(pod.metadata!.deletionTimestamp));
    if (!stopped && Date.now() < deadline) {
      throw new VkError(ErrorCodes.PROVIDER_TRANSIENT, `pod "${ref.namespace}/${ref.name}" still has running containers in the provider`);
    }
    try {
      // Grace 0 with a UID precondition: never deletes a newer pod of the same name.
      await client.delete(`/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.name)}`, {
        apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: ref.uid },
      });
    } catch (err) {
      if (!isKubeNotFound(err) && !isKubeConflict(err)) throw err;
    }
  }

  async #writeStatus(pod: V1Pod, desired: Record<string, unknown>): Promise<void> {
    if (!statusChanged(pod, desired)) return;
    const m = pod.metadata!;
    await this.#o.client.patch(`/api/v1/namespaces/${encodeURIComponent(m.namespace!)}/pods/${encodeURIComponent(m.name!)}/status`,
      { metadata: { uid: m.uid }, status: desired }, PatchType.StrategicMerge);
  }

  async #markLost(pod: V1Pod): Promise<void> {
    const m = pod.metadata!;
    const message = 'The pod\'s containers are gone from the provider (deleted outside Kubernetes or lost by the provider)';
    await this.#event(pod, 'Warning', 'ProviderPodLost', message);
    await this.#o.client.patch(`/api/v1/namespaces/${encodeURIComponent(m.namespace!)}/pods/${encodeURIComponent(m.name!)}/status`,
      { status: { phase: 'Failed', reason: 'ProviderPodLost', message } }, PatchType.StrategicMerge);
  }

  async #createFailed(pod: V1Pod, err: unknown): Promise<void> {
    const message = (err as Error).message;
    const missingRef = hasCode(err, ErrorCodes.POD_REFERENCE_MISSING);
    if (!missingRef) await this.#event(pod, 'Warning', 'ProviderCreateFailed', `Cannot create pod in provider: ${message}`);
    const m = pod.metadata!;
    const status = isPermanent(err)
      ? { phase: 'Failed', reason: 'ProviderFailed', message }
      : { reason: missingRef ? 'CreateContainerConfigError' : 'ProviderFailed', message };
    await this.#o.client.patch(`/api/v1/namespaces/${encodeURIComponent(m.namespace!)}/pods/${encodeURIComponent(m.name!)}/status`,
      { status }, PatchType.StrategicMerge).catch((e: unknown) => this.#o.logger.warn({ err: e }, 'cannot write failure status'));
  }

  /** Deletes provider pods that no pod object on this node owns (only ones of this installation are listed). */
  async #sweepOrphans(): Promise<void> {
    const { client, provider, nodeName, logger } = this.#o;
    const list = await client.get<{ items: V1Pod[] }>('/api/v1/pods', { query: { fieldSelector: `spec.nodeName=${nodeName}` } });
    const owned = new Set(list.items.map((p) => p.metadata!.uid));
    for (const pp of await provider.listPods()) {
      if (owned.has(pp.ref.uid)) continue;
      logger.info({ pod: `${pp.ref.namespace}/${pp.ref.name}`, uid: pp.ref.uid }, 'deleting orphan provider pod');
      await provider.deletePod(pp.ref, { gracePeriodSeconds: 0 });
    }
  }

  #event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const m = pod.metadata!;
    return this.#o.events.record({ kind: 'Pod', name: m.name!, namespace: m.namespace!, uid: m.uid! }, type, reason, message);
  }
}
