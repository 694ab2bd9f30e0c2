import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import {
  ErrorCodes, VkError,
  type EventRecorder, type KubeRestClient, type ResolvedContainer, type ResolvedPod,
} from '@vk-ts/core';
import { fieldValue, resourceFieldValue } from './downward-api.ts';
import { resolveVolumes } from './pod-volumes.ts';
import { ReferenceSource } from './reference-source.ts';
import type { RootCaBundles } from './root-ca-bundles.ts';
import type { ServiceEnvironment } from './service-environment.ts';

export interface PodResolverOptions {
  client: KubeRestClient;
  events: EventRecorder;
  nodeAllocatable: Record<string, string>;
  rootCa?: RootCaBundles;
  /** The service environment variables; without it containers get none (tests of other parts). */
  services?: ServiceEnvironment;
}

/**
 * Resolves what the provider cannot look up itself (it never talks to the
 * Kubernetes API): container env from literals, the downward API, ConfigMaps
 * and Secrets, with `$(VAR)` expansion, beside the service variables the
 * kubelet adds (`KUBERNETES_SERVICE_HOST`…, which the container's own
 * variables override), and the files of configMap, secret,
 * projected (service-account tokens included) and downwardAPI volumes.
 * Missing mandatory references fail with POD_REFERENCE_MISSING (retried until
 * they appear); missing optional ones record an Event and are skipped.
 * Unsupported sources fail with POD_INVALID naming them. Values are never logged.
 */
export class PodResolver {
  readonly #client: KubeRestClient;
  readonly #events: EventRecorder;
  readonly #nodeAllocatable: Record<string, string>;
  readonly #rootCa: RootCaBundles | undefined;
  readonly #services: ServiceEnvironment | undefined;

  constructor(options: PodResolverOptions) {
    this.#client = options.client;
    this.#events = options.events;
    this.#nodeAllocatable = options.nodeAllocatable;
    this.#rootCa = options.rootCa;
    this.#services = options.services;
  }

  async resolve(pod: V1Pod): Promise<ResolvedPod> {
    const refs = new ReferenceSource(this.#client, this.#events, pod, this.#rootCa);
    const serviceEnv = this.#services
      ? await this.#services.envFor(pod.metadata!.namespace!, pod.spec?.enableServiceLinks !== false)
      : {};
    const resolveContainer = async (c: V1Container): Promise<ResolvedContainer> => {
      // The service variables first: envFrom and env override them, and `$(VAR)` sees both (the kubelet's order).
      const env: Record<string, string> = { ...serviceEnv };
      for (const from of c.envFrom ?? []) {
        const source = from.configMapRef ?? from.secretRef;
        const data = await refs.object(from.configMapRef ? 'ConfigMap' : 'Secret', source?.name ?? '', source?.optional ?? false);
        for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v.toString('utf8');
      }
      for (const e of c.env ?? []) {
        const value = await this.#envValue(pod, refs, c, e, env);
        if (value !== undefined) env[e.name] = value;
      }
      return { name: c.name, image: c.image ?? '', command: (c.command ?? []).map((s) => expand(s, env)), args: (c.args ?? []).map((s) => expand(s, env)), env };
    };
    return {
      pod,
      ref: { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, uid: pod.metadata!.uid! },
      initContainers: await Promise.all((pod.spec?.initContainers ?? []).map(resolveContainer)),
      containers: await Promise.all((pod.spec?.containers ?? []).map(resolveContainer)),
      volumes: await resolveVolumes(pod, { client: this.#client, refs, nodeAllocatable: this.#nodeAllocatable }),
    };
  }

  async #envValue(pod: V1Pod, refs: ReferenceSource, c: V1Container, e: V1EnvVar, env: Record<string, string>): Promise<string | undefined> {
    if (e.value !== undefined) return expand(e.value, env);
    const from = e.valueFrom;
    if (!from) return '';
    const where = `env "${e.name}" of container "${c.name}"`;
    if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, where);
    if (from.resourceFieldRef) return resourceFieldValue(pod, from.resourceFieldRef, c.name, this.#nodeAllocatable, where);
    if (from.configMapKeyRef) {
      const r = from.configMapKeyRef;
      return (await refs.key('ConfigMap', r.name ?? '', r.key, r.optional ?? false, `container "${c.name}"`))?.toString('utf8');
    }
    if (from.secretKeyRef) {
      const r = from.secretKeyRef;
      return (await refs.key('Secret', r.name ?? '', r.key, r.optional ?? false, `container "${c.name}"`))?.toString('utf8');
    }
    throw new VkError(ErrorCodes.POD_INVALID, `${where} uses an unsupported source (fileKeyRef is not supported)`);
  }
}

/** Kubernetes `$(VAR)` expansion; `$$` escapes; unknown references stay as written. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : match;
  });
}
