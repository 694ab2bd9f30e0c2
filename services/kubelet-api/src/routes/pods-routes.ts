import type { FastifyInstance } from 'fastify';
import { abortOnClose } from './abort-on-close.ts';
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import type { KubeRestClient, Provider } from '@vk-ts/core';

/**
 * GET /pods: the pods bound to this node, from the API server's view (the
 * kubelet answers from its pod manager, which mirrors the API server).
 * GET /runningpods/: what the provider actually runs for this node, shaped
 * as the kubelet's runtime view: a PodList with name, namespace, uid and the
 * containers' names and images only.
 */
export function podsRoutes(app: FastifyInstance, deps: { client: KubeRestClient; provider: Provider; nodeName: string }): void {
  app.get('/pods', async (req, reply) => {
    const list = await deps.client.get<V1PodList>('/api/v1/pods', { query: { fieldSelector: `spec.nodeName=${deps.nodeName}` }, signal: abortOnClose(reply.raw) });
    return reply.type('application/json').send({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: list.items.map(withKind) });
  });

  const runningPods = async (): Promise<unknown> => {
    const pods = await deps.provider.listPods();
    const items = pods
      .filter((p) => (p.status.containerStatuses ?? []).some((c) => c.state?.running))
      .map((p) => ({
        metadata: { name: p.ref.name, namespace: p.ref.namespace, uid: p.ref.uid, creationTimestamp: null },
        spec: { containers: (p.status.containerStatuses ?? []).map((c) => ({ name: c.name, image: c.image, resources: {} })) },
        status: {},
      }));
    return { kind: 'PodList', apiVersion: 'v1', metadata: {}, items };
  };
  app.get('/runningpods/', async (_req, reply) => reply.type('application/json').send(await runningPods()));
  app.get('/runningpods', async (_req, reply) => reply.type('application/json').send(await runningPods()));
}

function withKind(pod: V1Pod): V1Pod {
  return { kind: 'Pod', apiVersion: 'v1', ...pod };
}
