import type { V1DownwardAPIVolumeFile, V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';
import { ErrorCodes, VkError, type KubeRestClient, type ResolvedVolume } from '@vk-ts/core';
import { fieldValue, resourceFieldValue } from './downward-api.ts';
import type { ReferenceData, ReferenceKind, ReferenceSource } from './reference-source.ts';
import { requestServiceAccountToken } from './service-account-token.ts';

export interface VolumeContext {
  client: KubeRestClient;
  refs: ReferenceSource;
  nodeAllocatable: Record<string, string>;
}

/**
 * The files of the pod's configMap, secret, projected and downwardAPI
 * volumes (with `items`, `optional` and service-account tokens), which a
 * provider cannot read from the API server itself. emptyDir is handed over
 * empty; every other volume type is passed by name as `other`, with its
 * source's name, and the provider decides whether it can mount it. Paths are checked the way the API
 * server validates them (relative, no `..`), so a provider never receives one
 * that escapes the volume.
 */
export async function resolveVolumes(pod: V1Pod, ctx: VolumeContext): Promise<ResolvedVolume[]> {
  return Promise.all((pod.spec?.volumes ?? []).map((v) => resolveVolume(pod, v, ctx)));
}

async function resolveVolume(pod: V1Pod, v: V1Volume, ctx: VolumeContext): Promise<ResolvedVolume> {
  const where = `volume "${v.name}"`;
  if (v.configMap) {
    return { name: v.name, kind: 'configMap', files: await fromObject(ctx, 'ConfigMap', v.configMap.name ?? '', v.configMap.items, v.configMap.optional ?? false, where) };
  }
  if (v.secret) {
    return { name: v.name, kind: 'secret', files: await fromObject(ctx, 'Secret', v.secret.secretName ?? '', v.secret.items, v.secret.optional ?? false, where) };
  }
  if (v.downwardAPI) {
    return { name: v.name, kind: 'downwardAPI', files: downwardFiles(pod, v.downwardAPI.items ?? [], ctx, where) };
  }
  if (v.projected) {
    const files: Record<string, Uint8Array> = {};
    for (const [i, source] of (v.projected.sources ?? []).entries()) {
      const at = `${where} source ${i}`;
      if (source.configMap) Object.assign(files, await fromObject(ctx, 'ConfigMap', source.configMap.name ?? '', source.configMap.items, source.configMap.optional ?? false, at));
      else if (source.secret) Object.assign(files, await fromObject(ctx, 'Secret', source.secret.name ?? '', source.secret.items, source.secret.optional ?? false, at));
      else if (source.downwardAPI) Object.assign(files, downwardFiles(pod, source.downwardAPI.items ?? [], ctx, at));
      else if (source.serviceAccountToken) {
        const path = checkPath(source.serviceAccountToken.path, at);
        files[path] = await requestServiceAccountToken(ctx.client, pod, {
          audience: source.serviceAccountToken.audience, expirationSeconds: source.serviceAccountToken.expirationSeconds,
        });
      } else {
        throw new VkError(ErrorCodes.POD_INVALID, `${at} uses a projected source this virtual kubelet does not support (only configMap, secret, downwardAPI, serviceAccountToken)`);
      }
    }
    return { name: v.name, kind: 'projected', files };
  }
  if (v.emptyDir) return { name: v.name, kind: 'emptyDir', files: {} };
  return { name: v.name, kind: 'other', source: Object.keys(v).find((key) => key !== 'name') ?? 'unknown', files: {} };
}

async function fromObject(ctx: VolumeContext, kind: ReferenceKind, name: string, items: V1KeyToPath[] | undefined, optional: boolean, where: string): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  if (!items?.length) {
    const data: ReferenceData | null = await ctx.refs.object(kind, name, optional);
    for (const [key, value] of Object.entries(data ?? {})) files[checkPath(key, where)] = value;
    return files;
  }
  for (const item of items) {
    const value = await ctx.refs.key(kind, name, item.key, optional, where);
    if (value !== undefined) files[checkPath(item.path, where)] = value;
  }
  return files;
}

function downwardFiles(pod: V1Pod, items: V1DownwardAPIVolumeFile[], ctx: VolumeContext, where: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const item of items) {
    const path = checkPath(item.path, where);
    let value: string;
    if (item.fieldRef) value = fieldValue(pod, item.fieldRef.fieldPath, where);
    else if (item.resourceFieldRef) value = resourceFieldValue(pod, item.resourceFieldRef, undefined, ctx.nodeAllocatable, where);
    else throw new VkError(ErrorCodes.POD_INVALID, `${where} item "${item.path}" has neither fieldRef nor resourceFieldRef`);
    files[path] = Buffer.from(value, 'utf8');
  }
  return files;
}

/** A relative path inside the volume, as the API server requires; anything else is POD_INVALID. */
function checkPath(path: string, where: string): string {
  if (!path || path.startsWith('/') || path.split('/').includes('..')) {
    throw new VkError(ErrorCodes.POD_INVALID, `${where}: file path "${path}" must be relative and must not contain ".."`);
  }
  return path;
}
