import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { PatchType, decodeObjectMetadata, type DecodedObjectMeta, type KubeApiError, type WatchEvent } from '@vk-ts/core';
import { waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const NS = 'e2e-kube-watch';

/** The metadata fields decodeObjectMetadata reads, taken from a JSON pod: what the two watches must agree on. */
function projected(m: NonNullable<V1Pod['metadata']>): DecodedObjectMeta {
  const raw = m as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
    'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'finalizers']) {
    const value = raw[key];
    if (value !== undefined) out[key] = value;
  }
  return out as DecodedObjectMeta;
}

describe('watching pods as protobuf for their metadata (what the node-agent does)', () => {
  before(async () => {
    await env.kubectl('create', 'namespace', NS);
  });

  it('sees every event of a pod\'s life with the same metadata as a JSON watch of the same pods', async () => {
    const path = `/api/v1/namespaces/${NS}/pods`;
    const listed = await env.client.get<{ metadata: { resourceVersion: string } }>(path);
    const query = { resourceVersion: listed.metadata.resourceVersion, allowWatchBookmarks: true };
    const abort = new AbortController();
    const json: string[] = [];
    const proto: string[] = [];
    const watching = Promise.all([
      env.client.watch<V1Pod>(path, query, (e: WatchEvent<V1Pod>) => {
        if (e.type !== 'BOOKMARK') json.push(JSON.stringify([e.type, projected(e.object.metadata!)]));
      }, abort.signal),
      env.client.watchProtobuf(path, query, decodeObjectMetadata, (e) => {
        if (e.type !== 'BOOKMARK') proto.push(JSON.stringify([e.type, e.object.metadata]));
      }, abort.signal),
    ]);
    try {
      const pod = await env.client.create<V1Pod>(path, {
        metadata: {
          generateName: 'watched-', labels: { app: 'web', 'example.com/tier': 'front' },
          annotations: { note: 'ünïcödé ✓', empty: '' }, finalizers: ['example.com/keep'],
        },
        // No scheduler picks it, so no one but this test changes it.
        spec: { schedulerName: 'e2e-no-such-scheduler', containers: [{ name: 'c', image: 'nginx:1' }] },
      });
      const podPath = `${path}/${pod.metadata!.name}`;
      await env.client.patch(podPath, { metadata: { labels: { app: 'api' } } }, PatchType.StrategicMerge);
      await env.client.patch(podPath, { spec: { activeDeadlineSeconds: 600 } }, PatchType.StrategicMerge);
      // An unscheduled pod is deleted at once (grace 0); the finalizer holds it, terminating, until it is removed.
      await env.client.delete(podPath, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 45 });
      await env.client.patch(podPath, [{ op: 'remove', path: '/metadata/finalizers' }], PatchType.Json);
      await waitFor('both watches saw the deletion', () => json.at(-1)?.startsWith('["DELETED"') && proto.at(-1)?.startsWith('["DELETED"'));
    } finally {
      abort.abort();
      await watching;
    }
    assert.deepEqual(json.map((e) => JSON.parse(e)[0]), ['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    assert.deepEqual(proto.map((e) => JSON.parse(e)), json.map((e) => JSON.parse(e)));
    const terminating = JSON.parse(proto[3]!)[1] as DecodedObjectMeta;
    assert.equal(terminating.generation, 3); // 1 at creation, 2 after the spec change, 3 once deleted
    assert.equal(terminating.deletionGracePeriodSeconds, 0);
    assert.deepEqual(terminating.finalizers, ['example.com/keep']);
    assert.match(terminating.deletionTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('reports a watch the API server refuses with the reason and message of its answer (a Status in protobuf)', async () => {
    await assert.rejects(
      env.client.watchProtobuf(`/api/v1/namespaces/${NS}/pods`, { fieldSelector: 'spec.noSuchField=x' }, decodeObjectMetadata, () => {}, new AbortController().signal),
      (err: KubeApiError) => err.statusCode === 400 && err.reason === 'BadRequest' && /field label not supported: spec\.noSuchField/.test(err.message));
  });
});
