import type { V1Pod } from '@kubernetes/client-node';
import { ErrorCodes, VkError, isKubeNotFound, type EventRecorder, type KubeRestClient } from '@vk-ts/core';
import { ROOT_CA_CONFIGMAP, type ConfigMapData, type RootCaBundles } from './root-ca-bundles.ts';

export type ReferenceKind = 'ConfigMap' | 'Secret';

/** A ConfigMap's or Secret's entries as bytes (`data` and `binaryData` merged; Secret values decoded). */
export type ReferenceData = Record<string, Buffer>;

/**
 * Reads the ConfigMaps and Secrets one pod references, each once per pass,
 * and records the kubelet's Events for missing ones: a missing mandatory
 * object or key fails with POD_REFERENCE_MISSING (the pod is retried until it
 * appears), a missing optional one records `Optional…NotFound` and yields
 * nothing. Contents are never logged nor put in messages. The namespace's
 * `kube-root-ca.crt` comes from `rootCa`'s watch when it has it.
 */
export class ReferenceSource {
  readonly #client: KubeRestClient;
  readonly #events: EventRecorder;
  readonly #pod: V1Pod;
  readonly #cache = new Map<string, Promise<ReferenceData | null>>();
  readonly #rootCa: RootCaBundles | undefined;

  constructor(client: KubeRestClient, events: EventRecorder, pod: V1Pod, rootCa?: RootCaBundles) {
    this.#client = client;
    this.#events = events;
    this.#pod = pod;
    this.#rootCa = rootCa;
  }

  /** The object's entries; null when it is missing and optional. */
  object(kind: ReferenceKind, name: string, optional: boolean): Promise<ReferenceData | null> {
    const key = `${kind}/${name}/${optional}`;
    let entry = this.#cache.get(key);
    if (!entry) {
      entry = this.#fetch(kind, name, optional);
      this.#cache.set(key, entry);
    }
    return entry;
  }

  /** One entry of the object; undefined when the object or key is missing and optional. */
  async key(kind: ReferenceKind, name: string, key: string, optional: boolean, where: string): Promise<Buffer | undefined> {
    const data = await this.object(kind, name, optional);
    if (!data) return undefined;
    if (key in data) return data[key];
    const ns = this.#pod.metadata!.namespace!;
    if (optional) {
      await this.#event('Warning', `Optional${kind}KeyNotFound`, `Couldn't find key ${key} in ${kind} ${ns}/${name}`);
      return undefined;
    }
    await this.#event('Warning', `Mandatory${kind}KeyNotFound`, `Couldn't find key ${key} in ${kind} ${ns}/${name}`);
    throw new VkError(ErrorCodes.POD_REFERENCE_MISSING, `key "${key}" of ${kind} "${ns}/${name}" referenced by ${where} not found`);
  }

  async #fetch(kind: ReferenceKind, name: string, optional: boolean): Promise<ReferenceData | null> {
    const ns = this.#pod.metadata!.namespace!;
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/${kind === 'ConfigMap' ? 'configmaps' : 'secrets'}/${encodeURIComponent(name)}`;
    try {
      const watched = kind === 'ConfigMap' && name === ROOT_CA_CONFIGMAP ? this.#rootCa?.get(ns) : undefined;
      const obj = watched ?? await this.#client.get<ConfigMapData>(path);
      const out: ReferenceData = {};
      for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8');
      for (const [k, v] of Object.entries(obj.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
      return out;
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
      if (optional) {
        await this.#event('Warning', `Optional${kind}NotFound`, `${kind} ${ns}/${name} not found; the pod runs without it (optional)`);
        return null;
      }
      await this.#event('Warning', `Mandatory${kind}NotFound`, `${kind} ${ns}/${name} not found; the pod is not started until it exists`);
      throw new VkError(ErrorCodes.POD_REFERENCE_MISSING, `${kind} "${ns}/${name}" not found`);
    }
  }

  #event(type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const m = this.#pod.metadata!;
    return this.#events.record({ kind: 'Pod', name: m.name!, namespace: m.namespace!, uid: m.uid!, resourceVersion: m.resourceVersion }, type, reason, message);
  }
}
