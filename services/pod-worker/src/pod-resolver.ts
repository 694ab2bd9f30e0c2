import {
  ErrorCodes, VkError, isKubeNotFound,
  type EventRecorder, type KubeRestClient, type ResolvedContainer, type ResolvedPod,
} from '@vk-ts/core';
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

/**
 * Resolves what the provider cannot look up itself (it never talks to the
 * Kubernetes API): container env from literals, fieldRefs, ConfigMaps and
 * Secrets, with `$(VAR)` expansion. Missing mandatory references fail with
 * POD_REFERENCE_MISSING (retried until they appear); missing optional ones
 * record an Event and are skipped. Values are never logged.
 */
export class PodResolver {
  readonly #client: KubeRestClient;
  readonly #events: EventRecorder;

  constructor(client: KubeRestClient, events: EventRecorder) {
    this.#client = client;
    this.#events = events;
  }

  async resolve(pod: V1Pod): Promise<ResolvedPod> {
    const ns = pod.metadata!.namespace!;
    const cache = new Map<string, Record<string, string> | null>();
    const resolveContainer = async (c: V1Container): Promise<ResolvedContainer> => {
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) {
        const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
        const name = (from.configMapRef ?? from.secretRef)?.name ?? '';
        const optional = (from.configMapRef ?? from.secretRef)?.optional ?? false;
        const data = await this.#source(pod, cache, kind, name, optional);
        for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v;
      }
      for (const e of c.env ?? []) {
        const value = await this.#envValue(pod, cache, c, e, env);
        if (value !== undefined) env[e.name] = value;
      }
      return { name: c.name, image: c.image ?? '', command: (c.command ?? []).map((s) => expand(s, env)), args: (c.args ?? []).map((s) => expand(s, env)), env };
    };
    return {
      pod,
      ref: { namespace: ns, name: pod.metadata!.name!, uid: pod.metadata!.uid! },
      initContainers: await Promise.all((pod.spec?.initContainers ?? []).map(resolveContainer)),
      containers: await Promise.all((pod.spec?.containers ?? []).map(resolveContainer)),
      volumes: [],
    };
  }

  async #envValue(pod: V1Pod, cache: Map<string, Record<string, string> | null>, c: V1Container, e: V1EnvVar, env: Record<string, string>): Promise<string | undefined> {
    if (e.value !== undefined) return expand(e.value, env);
    const from = e.valueFrom;
    if (!from) return '';
    if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, c.name);
    const ref = from.configMapKeyRef ?? from.secretKeyRef;
    if (ref) {
      const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const data = await this.#source(pod, cache, kind, ref.name ?? '', ref.optional ?? false);
      if (!data) return undefined;
      if (!(ref.key in data)) {
        if (ref.optional) {
          await this.#event(pod, 'Warning', `Optional${kind}KeyNotFound`, `Couldn't find key ${ref.key} in ${kind} ${pod.metadata!.namespace}/${ref.name}`);
          return undefined;
        }
        await this.#event(pod, 'Warning', `Mandatory${kind}KeyNotFound`, `Couldn't find key ${ref.key} in ${kind} ${pod.metadata!.namespace}/${ref.name}`);
        throw new VkError(ErrorCodes.POD_REFERENCE_MISSING, `key "${ref.key}" of ${kind} "${ref.name}" referenced by container "${c.name}" not found`);
      }
      return data[ref.key];
    }
    throw new VkError(ErrorCodes.POD_INVALID, `env "${e.name}" of container "${c.name}" uses an unsupported source (resourceFieldRef and fileKeyRef are not supported yet)`);
  }

  async #source(pod: V1Pod, cache: Map<string, Record<string, string> | null>, kind: 'ConfigMap' | 'Secret', name: string, optional: boolean): Promise<Record<string, string> | null> {
    const key = `${kind}/${name}`;
    if (cache.has(key)) return cache.get(key)!;
    const ns = pod.metadata!.namespace!;
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/${kind === 'ConfigMap' ? 'configmaps' : 'secrets'}/${encodeURIComponent(name)}`;
    let data: Record<string, string> | null;
    try {
      const obj = await this.#client.get<{ data?: Record<string, string> }>(path);
      data = kind === 'Secret'
        ? Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
        : { ...(obj.data ?? {}) };
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
      if (optional) {
        await this.#event(pod, 'Warning', `Optional${kind}NotFound`, `${kind} ${ns}/${name} not found; the pod runs without it (optional)`);
        data = null;
      } else {
        await this.#event(pod, 'Warning', `Mandatory${kind}NotFound`, `${kind} ${ns}/${name} not found; the pod is not started until it exists`);
        throw new VkError(ErrorCodes.POD_REFERENCE_MISSING, `${kind} "${ns}/${name}" not found`);
      }
    }
    cache.set(key, data);
    return data;
  }

  #event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const m = pod.metadata!;
    return this.#events.record({ kind: 'Pod', name: m.name!, namespace: m.namespace!, uid: m.uid!, resourceVersion: m.resourceVersion }, type, reason, message);
  }
}

function fieldValue(pod: V1Pod, path: string, container: string): string {
  const m = pod.metadata!;
  switch (path) {
    case 'metadata.name': return m.name ?? '';
    case 'metadata.namespace': return m.namespace ?? '';
    case 'metadata.uid': return m.uid ?? '';
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return pod.status?.podIP ?? '';
    case 'status.hostIP': return pod.status?.hostIP ?? '';
  }
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return m.labels?.[label[1]!] ?? '';
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return m.annotations?.[annotation[1]!] ?? '';
  throw new VkError(ErrorCodes.POD_INVALID, `fieldRef "${path}" in container "${container}" is not supported`);
}

/** Kubernetes `$(VAR)` expansion; `$$` escapes; unknown references stay as written. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : match;
  });
}
