import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { createLogger, type KubeRestClient, type WatchEvent } from '@vk-ts/core';
import { PodCache } from '../src/pod-cache.ts';

/**
 * A list+watch source standing in for the API server (the e2e tests run the
 * cache against a real one): the list answers `items`, the watch delivers
 * what the test sends through `emit` until the cache closes.
 */
class FakePodSource {
  readonly items: V1Pod[];
  #onEvent: ((event: WatchEvent<V1Pod>) => void) | undefined;
  readonly watching: Promise<void>;
  #started!: () => void;

  constructor(items: V1Pod[]) {
    this.items = items;
    this.watching = new Promise((resolve) => { this.#started = resolve; });
  }

  get client(): KubeRestClient {
    return {
      listPaged: async (_path: string, _query: unknown, onPage: (items: V1Pod[]) => void) => {
        onPage(this.items.map((p) => structuredClone(p)));
        return '10';
      },
      watch: (_path: string, _query: unknown, onEvent: (event: WatchEvent<V1Pod>) => void, signal: AbortSignal) => {
        this.#onEvent = onEvent;
        this.#started();
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    } as unknown as KubeRestClient;
  }

  emit(type: WatchEvent<V1Pod>['type'], pod: V1Pod): void {
    this.#onEvent!({ type, object: structuredClone(pod) });
  }
}

function pod(name: string, resourceVersion: string, phase: string, extra: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } = {}): V1Pod {
  return {
    // As the API server sends it: timestamps are strings on the wire (the client type says Date).
    metadata: { namespace: 'ns', name, uid: `uid-${name}`, resourceVersion, generation: 1, ...extra, managedFields: [{ manager: 'kubectl' }] } as V1Pod['metadata'],
    spec: { nodeName: 'vk', containers: [{ name: 'c', image: 'nginx', env: [{ name: 'A', value: 'x' }] }] },
    status: { phase },
  };
}

describe('the pod-worker pod cache', () => {
  let source: FakePodSource;
  let cache: PodCache;

  async function start(items: V1Pod[]): Promise<void> {
    source = new FakePodSource(items);
    cache = new PodCache({ client: source.client, nodeName: 'vk', logger: createLogger({ service: 'test', level: 'silent' }) });
    cache.start();
    await source.watching;
  }

  afterEach(async () => {
    await cache.close();
  });

  it('serves a pod that still has work whole (without managedFields), and keeps only the summary of a settled one', async () => {
    await start([pod('pending', '5', 'Pending'), pod('running', '6', 'Running'), pod('done', '7', 'Succeeded')]);
    const pending = cache.get('ns', 'pending', '5');
    assert.equal(pending?.spec?.containers[0]?.env?.[0]?.value, 'x');
    assert.equal(pending?.metadata?.managedFields, undefined);
    assert.equal(cache.get('ns', 'running', '6'), undefined, 'a Running pod is read from the API server');
    assert.equal(cache.get('ns', 'done', '7'), undefined, 'a finished pod too');
    assert.equal(cache.settled('ns', 'running', '6')?.phase, 'Running');
    assert.equal(cache.settled('ns', 'running', '9'), undefined, 'not at a version the cache has not seen');
    assert.equal(cache.settled('ns', 'pending', '5'), undefined);
    assert.deepEqual([...cache.summaries()].map((s) => [s.name, s.phase]), [['pending', 'Pending'], ['running', 'Running'], ['done', 'Succeeded']]);
  });

  it('does not wait for the watch when the pod is settled at the job\'s version (the job reads the API server at once)', async () => {
    await start([pod('running', '6', 'Running')]);
    // A wait would last the full minute and fail the test on its timeout.
    assert.equal(await cache.getFresh('ns', 'running', '6', 60_000, true), undefined);
  });

  it('keeps what its deletion needs of a pod being deleted, and drops its spec once it runs', async () => {
    await start([pod('p', '6', 'Running'), pod('q', '7', 'Pending')]);
    source.emit('MODIFIED', pod('p', '8', 'Running', { deletionTimestamp: '2026-11-24T00:00:00Z' }));
    assert.equal(String(cache.get('ns', 'p', '8')?.metadata?.deletionTimestamp), '2026-11-24T00:00:00Z');
    assert.equal(cache.terminating({ namespace: 'ns', name: 'p', uid: 'uid-p' }), true);
    assert.equal(cache.terminating({ namespace: 'ns', name: 'p', uid: 'uid-older-p' }), false, 'another pod of the same name');
    assert.equal(cache.terminating({ namespace: 'ns', name: 'q', uid: 'uid-q' }), false);
    source.emit('MODIFIED', pod('q', '9', 'Running'));
    assert.equal(cache.get('ns', 'q', '9'), undefined);
    assert.equal(cache.size, 2);
  });

  it('serves a deletion job what it needs once the watch brings the terminating version of a running pod, without the pod\'s containers', async () => {
    await start([pod('p', '6', 'Running')]);
    const fresh = cache.getFresh('ns', 'p', '8', 60_000, true);
    source.emit('MODIFIED', pod('p', '8', 'Running', { deletionTimestamp: '2026-11-24T00:00:00Z', deletionGracePeriodSeconds: 5 }));
    const served = await fresh;
    assert.deepEqual(served, {
      metadata: { namespace: 'ns', name: 'p', uid: 'uid-p', resourceVersion: '8', generation: 1, deletionTimestamp: '2026-11-24T00:00:00Z', deletionGracePeriodSeconds: 5 },
      spec: { nodeName: 'vk', containers: [] },
      status: { phase: 'Running' },
    });
  });

  it('answers a job that is ahead of the cache once the watch brings its version', async () => {
    await start([pod('q', '7', 'Pending')]);
    const fresh = cache.getFresh('ns', 'q', '9', 60_000, true);
    source.emit('MODIFIED', pod('q', '9', 'Pending'));
    assert.equal((await fresh)?.metadata?.resourceVersion, '9');
  });
});
