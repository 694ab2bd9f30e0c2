import { UnrecoverableError } from 'bullmq';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import {
  ErrorCodes, PatchType, hasCode, isKubeConflict, isKubeNotFound, isKubeRefusal, isNotFound, isPermanent,
  type EventRecorder, type VkError, type KubeRestClient, type Logger, type PodJobData, type PodRef, type Provider, type ProviderPod,
} from '@vk-ts/core';
import { DEADLINE_EXCEEDED_MESSAGE, activeDeadlineAt } from './active-deadline.ts';
import { forgetPod } from './forget-pod.ts';
import { PodResolver } from './pod-resolver.ts';
import {
  EPHEMERAL_CONTAINER_MESSAGE, EPHEMERAL_CONTAINER_REASON, changedStatusFields, desiredPodStatus, endedPodStatus, imagePullStatus, startTimeIfUnset,
} from './pod-status.ts';
import type { PodCache } from './pod-cache.ts';
import type { RootCaBundles } from './root-ca-bundles.ts';
import type { ServiceEnvironment } from './service-environment.ts';
import type { StatusDigests } from './status-digests.ts';

export interface PodReconcilerOptions {
  client: KubeRestClient;
  provider: Provider;
  events: EventRecorder;
  logger: Logger;
  nodeName: string;
  digests: StatusDigests;
  /** Saves the GET of a pod the cache holds at the job's resourceVersion; without it every pass reads the API server. */
  cache?: PodCache;
  /** Serves each namespace's kube-root-ca.crt (in every pod that mounts its ServiceAccount token) without a GET per pod. */
  rootCa?: RootCaBundles;
  /** The containers' service variables (KUBERNETES_SERVICE_HOST…); without it they get none. */
  services?: ServiceEnvironment;
  /**
   * Asks for a pass of the pod at `atMs` (its activeDeadlineSeconds), as a job
   * of its own beside the pod's job, so that it never holds up the pod's other
   * work (a deletion); asking again for the same pod changes nothing.
   */
  scheduleDeadline?: (job: PodJobData, atMs: number) => Promise<void>;
  /** How often a pod whose deletion waits for the provider is looked at again (capped by the grace deadline). */
  deletePollMs?: number;
}

export interface ReconcileContext {
  /** This is the job's last attempt: a failure now is final until the next resync. */
  finalAttempt: boolean;
  /** The job's attempt, from 1 (absent: 1). */
  attempt?: number;
}

export interface ReconcileResult {
  /** Look at the pod again after this long without counting a failed attempt (deletion waiting for the provider). */
  requeueAfterMs?: number;
}

const DONE: ReconcileResult = {};

/** Status writes per pass that may meet a pod changed since it was read (409) before the pass fails and is retried. */
const MAX_STATUS_ATTEMPTS = 3;

/** How long a job waits for the worker's pod cache to reach the job's version before reading the API server. */
const CACHE_WAIT_MS = 2000;

/**
 * One reconcile pass for one pod: read the latest pod, ask the provider what
 * it has, converge. Level-triggered: the job only names the pod, so a pass
 * run twice, late or out of order still ends in the same state.
 */
export class PodReconciler {
  readonly #o: PodReconcilerOptions;
  readonly #resolver: PodResolver;

  constructor(options: PodReconcilerOptions) {
    this.#o = options;
    const node = options.provider.describeNode();
    this.#resolver = new PodResolver({
      client: options.client, events: options.events, nodeAllocatable: node.allocatable ?? node.capacity, rootCa: options.rootCa, services: options.services,
    });
  }

  async reconcile(job: PodJobData, ctx: ReconcileContext = { finalAttempt: false }): Promise<ReconcileResult> {
    const { client, provider, digests } = this.#o;
    const jobRef: PodRef = { namespace: job.namespace, name: job.name, uid: job.uid };
    // The provider's view of the pod is asked at most once per pass (the settled check and the pass share it).
    const providerPod = askOnce(provider);
    if (await this.#settledAsWritten(job, providerPod)) return DONE;
    let pod: V1Pod;
    let maybeStale: boolean;
    try {
      // create/update jobs name a version the node-agent saw, so the worker's watch will bring it too.
      const expectPresent = job.op === 'create' || job.op === 'update';
      const cached = await this.#o.cache?.getFresh(job.namespace, job.name, job.resourceVersion, CACHE_WAIT_MS, expectPresent);
      // A job without a version (node resync, status sync) may find the cache a moment behind our own last write.
      maybeStale = cached !== undefined && !job.resourceVersion;
      pod = cached ?? await client.get<V1Pod>(podPath(job));
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
      // Gone from the API server (force delete, or the last pass deleted it): make sure the provider follows.
      if (job.uid) await forgetPod(provider, digests, jobRef);
      return DONE;
    }
    const ref: PodRef = { namespace: job.namespace, name: job.name, uid: pod.metadata!.uid! };
    if (job.uid && ref.uid !== job.uid) {
      // The job names an earlier pod of the same name (StatefulSet-style re-creation): remove that one first.
      await forgetPod(provider, digests, jobRef);
    }
    if (pod.spec?.nodeName !== this.#o.nodeName) return DONE;

    if (pod.metadata?.deletionTimestamp) return this.#delete(pod, ref);
    if (isFinished(pod)) {
      await digests.delete(ref.uid);
      return DONE;
    }
    const deadlineAt = activeDeadlineAt(pod, Date.now());
    if (deadlineAt !== undefined && Date.now() >= deadlineAt) return this.#deadlineExceeded(pod, ref);

    // A pod that never started is created straight away (create is idempotent and answers the provider's
    // view); only one that ran before is looked up first, so that a vanished copy is reported, not re-created.
    const started = pod.status?.containerStatuses?.some((c) => c.containerID) ?? false;
    let provided = started ? await providerPod(ref) : undefined;
    if (!provided) {
      if (started) {
        await this.#markLost(pod);
        return DONE;
      }
      try {
        provided = await provider.createPod(await this.#resolver.resolve(pod));
      } catch (err) {
        await this.#createFailed(pod, err, ctx);
        throw isPermanent(err) ? new UnrecoverableError((err as Error).message) : err;
      }
    }
    let updatePending = false;
    if (imageChanged(pod, provided)) {
      // The one in-place spec change Kubernetes allows on a running pod that a provider can apply.
      try {
        await provider.updatePod(await this.#resolver.resolve(pod));
        provided = (await provider.getPod(ref)) ?? provided;
      } catch (err) {
        await this.#updateFailed(pod, err);
        // A change the provider refuses (an image it cannot get, an invalid spec): the pod keeps running what it
        // ran and its status below says so; the status record names no generation, so the node resync tries the
        // change again every interval, as the kubelet keeps trying to pull an image, until it can be applied.
        if (!isPermanent(err) && !hasCode(err, ErrorCodes.PROVIDER_IMAGE_PULL)) throw err;
        updatePending = true;
      }
    }
    for (const c of pod.spec?.ephemeralContainers ?? []) {
      if (pod.status?.ephemeralContainerStatuses?.some((s) => s.name === c.name)) continue;
      await this.#event(pod, 'Warning', EPHEMERAL_CONTAINER_REASON, `Ephemeral container "${c.name}" cannot run: ${EPHEMERAL_CONTAINER_MESSAGE}`);
    }
    let written: 'done' | 'gone' | 'left';
    try {
      written = await this.#writeStatus(pod, provided, { maybeStale, updatePending });
    } catch (err) {
      // Refused for good (RBAC without pods/status, a provider value the API server rejects): said on the pod, and
      // not retried until something changes (the node resync tries again, and says it again).
      if (!isKubeRefusal(err)) throw err;
      // The record names this provider state, so the batch status sync does not bring the same refusal back every
      // few seconds, and no generation, so the node resync still gives the pod a pass every interval.
      await this.#o.digests.set(provided, undefined).catch((e: unknown) => this.#o.logger.warn({ err: e }, 'cannot record the refused status'));
      await this.#warn(pod, 'StatusUpdateFailed', `Cannot write the pod's status: ${(err as Error).message}`);
      throw new UnrecoverableError((err as Error).message);
    }
    if (written === 'gone') {
      // The pod was deleted, or replaced by a newer pod of the same name, while this pass ran: what this
      // pass created for it in the provider goes now, not after a failed attempt and a retry. The newer
      // pod has a job of its own.
      await forgetPod(provider, digests, ref);
    }
    // Being deleted (or finished) by the time its status was written: another pass, soon. Its deletion's event
    // may have been merged into this very job while it waited (deduplication keeps the waiting job's data), and
    // this pass may have read a cache that had not seen it yet; without a pass of its own the pod would wait
    // for the node resync, with what this pass created still running in the provider.
    if (written === 'left') return { requeueAfterMs: this.#o.deletePollMs ?? 1000 };
    if (deadlineAt !== undefined && written === 'done') {
      await this.#o.scheduleDeadline?.({ namespace: ref.namespace, name: ref.name, uid: ref.uid, resourceVersion: '', op: 'deadline' }, deadlineAt);
    }
    return DONE;
  }

  /**
   * `spec.activeDeadlineSeconds` has passed since the pod started: as the
   * kubelet, a `DeadlineExceeded` Warning Event, the provider copy stopped,
   * and the pod Failed with reason `DeadlineExceeded`, its running
   * containers terminated (exit 137), whatever its restart policy.
   */
  async #deadlineExceeded(pod: V1Pod, ref: PodRef): Promise<ReconcileResult> {
    await this.#warn(pod, 'DeadlineExceeded', DEADLINE_EXCEEDED_MESSAGE);
    const left = await this.#killInProvider(pod, ref, 0);
    const now = new Date().toISOString();
    const killed = (pod.status?.containerStatuses ?? []).filter((c) => !c.state?.terminated).map((c): V1ContainerStatus => ({
      ...c, ready: false, started: false,
      state: { terminated: { exitCode: 137, reason: 'DeadlineExceeded', message: DEADLINE_EXCEEDED_MESSAGE, startedAt: c.state?.running?.startedAt, finishedAt: new Date(now) } },
    }));
    // How the provider saw a container end, where it did, wins over "killed".
    const stopped = [...killed, ...(left?.status.containerStatuses ?? []).filter((c) => c.state?.terminated)];
    await this.#writeVersioned(pod, async (version) =>
      endedPodStatus(version, now, { reason: 'DeadlineExceeded', message: DEADLINE_EXCEEDED_MESSAGE }, stopped));
    await this.#o.digests.delete(ref.uid);
    return DONE;
  }

  /**
   * A job for a settled pod (the cache keeps only its summary) that has
   * nothing to do, found without reading the pod: a finished pod only has its
   * status record dropped; a running pod is done when the provider reports
   * exactly the state its status was last written from, at the same spec
   * generation (so no image change is pending either). This is what makes
   * the node-agent's relist after a restart (a job for every pod) cost no
   * read of a healthy node's pods. False when the pod must be read.
   */
  async #settledAsWritten(job: PodJobData, providerPod: (ref: PodRef) => Promise<ProviderPod | undefined>): Promise<boolean> {
    const settled = this.#o.cache?.settled(job.namespace, job.name, job.resourceVersion);
    if (!settled || (job.uid && job.uid !== settled.uid)) return false;
    if (settled.activeDeadlineAt !== undefined && Date.now() >= settled.activeDeadlineAt && settled.phase === 'Running') return false;
    if (settled.phase === 'Succeeded' || settled.phase === 'Failed') {
      await this.#o.digests.delete(settled.uid);
      return true;
    }
    const provided = await providerPod({ namespace: settled.namespace, name: settled.name, uid: settled.uid });
    return provided !== undefined && await this.#o.digests.wroteFrom(provided, settled.generation);
  }

  /**
   * Graceful deletion: ask the provider to stop the pod, then delete the pod
   * object (grace 0, UID precondition) as soon as every container has
   * stopped, not at the end of the grace period; at the deadline force it.
   * Reads only the pod's metadata (uid, deletionTimestamp,
   * deletionGracePeriodSeconds): the cache keeps no more of a terminating
   * pod (`deletionView` in pod-cache.ts).
   */
  async #delete(pod: V1Pod, ref: PodRef): Promise<ReconcileResult> {
    const { client, digests } = this.#o;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? 30;
    // The delete answers what is left: no second call to ask.
    const left = await this.#killInProvider(pod, ref, grace);
    const stopped = !left || (left.status.containerStatuses ?? []).every((c) => c.state?.terminated);
    const remainingMs = Date.parse(String(pod.metadata!.deletionTimestamp)) - Date.now();
    if (!stopped && remainingMs > 0) return { requeueAfterMs: Math.min(this.#o.deletePollMs ?? 1000, remainingMs) };
    if (!stopped) {
      this.#o.logger.warn({ pod: `${ref.namespace}/${ref.name}`, uid: ref.uid }, 'grace period over and the provider still runs containers: forcing the deletion');
      await this.#killInProvider(pod, ref, 0);
    }
    this.#o.logger.debug({ pod: `${ref.namespace}/${ref.name}`, uid: ref.uid, forced: !stopped }, 'provider stopped the pod: deleting the pod object');
    if (pod.metadata?.finalizers?.length && !isFinished(pod)) {
      // A finalizer keeps the object after the delete below, and its holder reads the phase: the Job controller
      // counts (and replaces) the pod only once it is Failed, and matches its podFailurePolicy on the containers'
      // exit codes. As the kubelet does, the pod ends in a terminal phase first, its containers terminated. The
      // cache keeps only the metadata of a terminating pod, so the whole pod is read here: only pods with
      // finalizers pay this read and write; the others are gone with the delete.
      const whole = await this.#read(ref);
      const ended = !whole || whole.metadata?.uid !== ref.uid ? 'gone' : await this.#writeVersioned(whole,
        async (version) => endedPodStatus(version, new Date().toISOString(), undefined, left?.status.containerStatuses), { terminating: true });
      if (ended === 'gone') {
        await digests.delete(ref.uid);
        return DONE;
      }
    }
    // The status record goes first: from the moment the provider let the pod go, the record would tell the
    // batch status sync that the pod vanished. Should the DELETE below fail, this job is retried, and the
    // node resync gives every terminating pod a pass.
    await digests.delete(ref.uid);
    try {
      // Grace 0 with a UID precondition: never deletes a newer pod of the same name.
      await client.delete(podPath(ref), { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: ref.uid } }, { discardBody: true });
    } catch (err) {
      if (isKubeNotFound(err) || isKubeConflict(err)) return DONE;
      if (!isKubeRefusal(err)) throw err;
      // Refused for good (RBAC without pods delete): said on the pod, which stays Terminating; the node resync tries again.
      await this.#warn(pod, 'PodDeleteFailed', `The provider stopped the pod, but its object cannot be deleted: ${(err as Error).message}`);
      throw new UnrecoverableError((err as Error).message);
    }
    return DONE;
  }

  /**
   * Asks the provider to stop and remove the pod's copy, answering what is left (an absent copy is not an error).
   * A failure gets a `FailedKillPod` Warning Event naming the provider's error, as the kubelet records one, and is
   * rethrown: the job retries, the pod is left as it is (Terminating, or not yet terminal).
   */
  async #killInProvider(pod: V1Pod, ref: PodRef, gracePeriodSeconds: number): Promise<ProviderPod | undefined> {
    try {
      return await this.#o.provider.deletePod(ref, { gracePeriodSeconds });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      await this.#warn(pod, 'FailedKillPod', `Cannot delete pod "${ref.namespace}/${ref.name}" in provider: ${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * Writes `pods/status` when it would change, and remembers what it was
   * derived from for the batch status sync. 'gone' when the pod was deleted or
   * replaced by a newer pod of the same name meanwhile; 'left' when it is
   * being deleted or has finished by the time of the write.
   *
   * `maybeStale`: the pod came from the cache for a job without a version, so
   * the cache may not show our own last write yet. Then, when the status
   * record says the status was already written from exactly this provider
   * state at this generation, the write is skipped instead of repeated.
   * `updatePending`: a spec change the provider refused; the record then
   * names no generation, so that the node resync gives the pod a pass.
   */
  async #writeStatus(pod: V1Pod, provided: ProviderPod, options: { maybeStale: boolean; updatePending: boolean }): Promise<'done' | 'gone' | 'left'> {
    const { maybeStale, updatePending } = options;
    let recorded = false;
    const written = await this.#writeVersioned(pod, async (version, reread) => {
      const desired = desiredPodStatus(version, provided, new Date().toISOString());
      const changed = changedStatusFields(version, desired);
      if (!changed.length) return undefined;
      if (maybeStale && !reread && await this.#o.digests.wroteFrom(provided, version.metadata?.generation)) {
        recorded = true;
        return undefined;
      }
      this.#o.logger.debug({ pod: `${provided.ref.namespace}/${provided.ref.name}`, changed }, 'writing pod status');
      return desired;
    });
    if (written === 'gone') return 'gone';
    // Being deleted or finished meanwhile: the record goes, as for any pod in that state.
    if (written === 'left') {
      await this.#o.digests.delete(provided.ref.uid);
      return 'left';
    }
    // No generation while a spec change waits to be applied: the node resync then gives the pod a pass.
    if (!recorded || updatePending) await this.#o.digests.set(provided, updatePending ? undefined : written.metadata?.generation);
    return 'done';
  }

  /**
   * Writes the status `derive` makes of one version of the pod onto exactly
   * that version (`#patchStatus`). A pod changed meanwhile (409) is read
   * again and `derive` asked again (`reread` true), at most
   * MAX_STATUS_ATTEMPTS writes. `derive` answering undefined writes nothing.
   * Answers the version written (or found needing nothing); 'gone' when the
   * pod was deleted or replaced by a newer pod of the same name; 'left' when
   * the version read again is being deleted (unless `terminating`: the final
   * status of a pod being deleted) or has finished, so that this status is no
   * longer ours to write.
   */
  async #writeVersioned(pod: V1Pod, derive: (version: V1Pod, reread: boolean) => Promise<PodStatus | undefined>, options: { terminating?: boolean } = {}): Promise<V1Pod | 'gone' | 'left'> {
    for (let attempt = 1; ; attempt++) {
      const status = await derive(pod, attempt > 1);
      if (!status) return pod;
      try {
        await this.#patchStatus(pod, status);
        return pod;
      } catch (err) {
        if (isKubeNotFound(err)) return 'gone';
        if (!isKubeConflict(err) || attempt === MAX_STATUS_ATTEMPTS) throw err;
        const m = pod.metadata!;
        const fresh = await this.#read({ namespace: m.namespace!, name: m.name! });
        // A pod replaced under the same name answers 409 too (its resourceVersion differs): the read tells.
        if (!fresh || fresh.metadata?.uid !== m.uid) return 'gone';
        if ((fresh.metadata?.deletionTimestamp && !options.terminating) || isFinished(fresh)) return 'left';
        pod = fresh;
      }
    }
  }

  /**
   * PATCHes `pods/status` of exactly the version of the pod that `status` was
   * derived from: the body carries its UID and resourceVersion, so the API
   * server answers 409 if the pod changed or was replaced since (a newer pod
   * has another resourceVersion; the version check comes before any other).
   * The resourceVersion is not only optimistic locking: a status update that
   * the API server applies to a pod being deleted with grace 0 deletes the
   * pod, and it does so with no precondition. When the update was checked
   * against a pod that was deleted meanwhile, that delete removes whatever
   * pod holds the name by then, a newer one included (seen in e2e as a pod
   * re-created by name vanishing 2 ms after its creation; kube-apiserver
   * 1.37's generic store, `Update` → `deleteWithoutFinalizers`). A pod we
   * write status for is never being deleted with grace 0 at the version we
   * read (the final status of a terminating pod is written before our own
   * grace-0 delete), so with the version in the patch the API server never
   * takes that path for us.
   */
  #patchStatus(pod: V1Pod, status: PodStatus): Promise<unknown> {
    const m = pod.metadata!;
    // The answer (the whole pod) is never read: drained unread.
    return this.#o.client.patch(`${podPath({ namespace: m.namespace!, name: m.name! })}/status`,
      { metadata: { uid: m.uid, resourceVersion: m.resourceVersion }, status }, PatchType.StrategicMerge, { discardBody: true });
  }

  async #markLost(pod: V1Pod): Promise<void> {
    const m = pod.metadata!;
    const message = 'The pod\'s containers are gone from the provider (deleted outside Kubernetes or lost by the provider)';
    await this.#event(pod, 'Warning', 'ProviderPodLost', message);
    await this.#writeVersioned(pod, async (version) => endedPodStatus(version, new Date().toISOString(), { reason: 'ProviderPodLost', message }));
    await this.#o.digests.delete(m.uid!);
  }

  /**
   * A create that failed: an Event and a status reason while it is retried.
   * One that can never work (an invalid pod, a provider's permanent refusal)
   * fails a `restartPolicy: Never` pod at once; any other pod stays Pending
   * with the reason, and the node resync tries it again every interval (as
   * the kubelet holds a pod it cannot mount in ContainerCreating, and as
   * upstream virtual-kubelet keeps it Pending): failing it made a Deployment's
   * ReplicaSet replace it at once, and again, in a loop. A Never pod also
   * fails once its retry budget is spent. Before the pod is
   * made Failed its provider copy is deleted (grace 0), as the kubelet kills a
   * pod's containers when it makes the pod terminal: a create whose answer was
   * lost (a timeout) may have landed, and a copy left running beside a Failed
   * pod would run twice once a Job replaces the pod. Should that delete fail,
   * the pod is not made Failed and the delete's error is thrown (the job, or
   * the node resync, tries again).
   */
  async #createFailed(pod: V1Pod, err: unknown, ctx: ReconcileContext): Promise<void> {
    const message = (err as Error).message;
    if (hasCode(err, ErrorCodes.PROVIDER_IMAGE_PULL)) return this.#imagePullFailed(pod, err as VkError, ctx);
    const missingRef = hasCode(err, ErrorCodes.POD_REFERENCE_MISSING);
    const invalid = hasCode(err, ErrorCodes.POD_INVALID);
    // The API server refused what the pod needs from it (a Secret read forbidden by RBAC, a TokenRequest for a
    // ServiceAccount that is gone): not the provider's doing, and said as the kubelet says it.
    const kubeApi = hasCode(err, ErrorCodes.KUBE_API);
    const reason = invalid ? 'InvalidPodSpec' : missingRef || kubeApi ? 'CreateContainerConfigError' : 'ProviderFailed';
    // The same failure as the pod already shows (a pod held Pending, tried again at every node resync): said once,
    // not again at every try, where a 500-replica Deployment would cost 1,000 writes a minute.
    const shows = (p: V1Pod): boolean => p.status?.reason === reason && p.status.message === message;
    const repeated = shows(pod);
    if (kubeApi && !repeated) await this.#event(pod, 'Warning', 'Failed', `Cannot prepare the pod's containers: ${message}`);
    else if (!missingRef && !repeated) await this.#event(pod, 'Warning', invalid ? 'InvalidPodSpec' : 'ProviderCreateFailed', `Cannot create pod in provider: ${message}`);
    // A missing ConfigMap or Secret, or an API server that refuses or fails what the pod needs, is waited for,
    // whatever the restart policy (as the kubelet does: a Job's pod may be created before its Secret); the node
    // resync gives the pod a pass after this job's budget is spent. Only the provider's failures use it up.
    const never = pod.spec?.restartPolicy === 'Never';
    let final = never && (isPermanent(err) || (ctx.finalAttempt && !missingRef && !kubeApi));
    let killFailed: unknown;
    if (final) {
      const m = pod.metadata!;
      await this.#killInProvider(pod, { namespace: m.namespace!, name: m.name!, uid: m.uid! }, 0).catch((e: unknown) => {
        final = false;
        killFailed = e;
      });
    }
    await this.#writeVersioned(pod, async (version) => {
      if (!final && shows(version)) return undefined;
      return { ...(final ? { phase: 'Failed' } : {}), reason, message, ...startTimeIfUnset(version) } as PodStatus;
    })
      .catch((e: unknown) => this.#o.logger.warn({ err: e }, 'cannot write failure status'));
    if (killFailed !== undefined) throw killFailed;
  }

  /**
   * An image the provider cannot get: as the kubelet, the pod stays Pending, whatever its restart policy,
   * with the container waiting in ErrImagePull (first attempt) or ImagePullBackOff (later ones) and a
   * Failed Event, and the create is retried with backoff (the job's, then the node resync's) until the
   * image can be had. Failing the pod instead made a Deployment with a mistyped image create Failed pods
   * in a loop, each replaced at once by its ReplicaSet.
   */
  async #imagePullFailed(pod: V1Pod, err: VkError, ctx: ReconcileContext): Promise<void> {
    const { container, image } = (err.details ?? {}) as { container?: string; image?: string };
    await this.#warn(pod, 'Failed', `Failed to pull image "${image ?? ''}": ${err.message}`);
    const waiting = { reason: (ctx.attempt ?? 1) > 1 ? 'ImagePullBackOff' : 'ErrImagePull', message: err.message };
    await this.#writeVersioned(pod, async (version) => {
      const status = imagePullStatus(version, container, waiting);
      return changedStatusFields(version, status).length ? status as PodStatus : undefined;
    }).catch((e: unknown) => this.#o.logger.warn({ err: e }, 'cannot write the image pull status'));
  }

  /** An image change the provider did not apply: a Warning Event (the resolver has named a missing reference already). */
  async #updateFailed(pod: V1Pod, err: unknown): Promise<void> {
    if (hasCode(err, ErrorCodes.POD_REFERENCE_MISSING)) return;
    const kubeApi = hasCode(err, ErrorCodes.KUBE_API);
    const reason = hasCode(err, ErrorCodes.POD_INVALID) ? 'InvalidPodSpec' : kubeApi ? 'Failed' : 'ProviderUpdateFailed';
    const what = kubeApi ? 'Cannot prepare the pod\'s image change' : 'Cannot apply the pod\'s image change in provider';
    await this.#warn(pod, reason, `${what}: ${(err as Error).message}`);
  }

  /** The pod as the API server has it now; undefined when it has none by that name. */
  #read(ref: Pick<PodRef, 'namespace' | 'name'>): Promise<V1Pod | undefined> {
    return this.#o.client.get<V1Pod>(podPath(ref)).catch((err: unknown) => {
      if (isKubeNotFound(err)) return undefined;
      throw err;
    });
  }

  /** A Warning Event on the pod for a failure already being handled: a failure to record it is only logged. */
  #warn(pod: V1Pod, reason: string, message: string): Promise<void> {
    return this.#event(pod, 'Warning', reason, message).catch((err: unknown) => this.#o.logger.warn({ err, reason }, 'cannot record the Warning Event'));
  }

  #event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const m = pod.metadata!;
    return this.#o.events.record({ kind: 'Pod', name: m.name!, namespace: m.namespace!, uid: m.uid! }, type, reason, message);
  }
}

/** `provider.getPod`, asked once per pod uid: a second call for the same pod answers the first call's answer. */
function askOnce(provider: Provider): (ref: PodRef) => Promise<ProviderPod | undefined> {
  let last: { uid: string; answer: Promise<ProviderPod | undefined> } | undefined;
  return (ref) => {
    if (last?.uid !== ref.uid) last = { uid: ref.uid, answer: provider.getPod(ref) };
    return last.answer;
  };
}

type PodStatus = NonNullable<V1Pod['status']>;

const isFinished = (pod: V1Pod): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

function podPath(ref: Pick<PodRef, 'namespace' | 'name'>): string {
  return `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.name)}`;
}

/** True when a container's image in the spec differs from what the provider runs. */
function imageChanged(pod: V1Pod, provided: ProviderPod): boolean {
  const running = new Map((provided.status.containerStatuses ?? []).map((c) => [c.name, c.image]));
  return (pod.spec?.containers ?? []).some((c) => running.has(c.name) && running.get(c.name) !== c.image);
}
