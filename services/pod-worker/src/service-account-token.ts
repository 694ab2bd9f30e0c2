import type { V1Pod } from '@kubernetes/client-node';
import { ErrorCodes, VkError, type KubeRestClient } from '@vk-ts/core';

/** What a projected `serviceAccountToken` source asks for. */
export interface TokenAsk {
  audience?: string;
  expirationSeconds?: number;
}

/**
 * Service-account tokens for projected volumes, through the TokenRequest API
 * (`serviceaccounts/<name>/token`), bound to the pod like the kubelet's:
 * the token stops being valid when the pod object is deleted. The API server
 * extends kube-api-access tokens itself (--service-account-extend-token-expiration).
 * Providers cannot rewrite files in running containers, so tokens are not
 * rotated while a pod runs: documented in docs/providers/*.md.
 */
export async function requestServiceAccountToken(client: KubeRestClient, pod: V1Pod, ask: TokenAsk): Promise<Buffer> {
  const m = pod.metadata!;
  const sa = pod.spec?.serviceAccountName || 'default';
  const body = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      audiences: ask.audience ? [ask.audience] : [],
      expirationSeconds: ask.expirationSeconds ?? 3600,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: m.name, uid: m.uid },
    },
  };
  const res = await client.create<{ status?: { token?: string } }>(
    `/api/v1/namespaces/${encodeURIComponent(m.namespace!)}/serviceaccounts/${encodeURIComponent(sa)}/token`, body);
  const token = res.status?.token;
  if (!token) throw new VkError(ErrorCodes.KUBE_API, `TokenRequest for service account "${m.namespace}/${sa}" returned no token`);
  return Buffer.from(token, 'utf8');
}
