import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@vk-ts/testbed';
import { KubeRestClient, createLogger, runListWatch } from '../src/index.ts';

/** A plain-HTTP stand-in for the API server's pod collection: `onList` and `onWatch` answer the two kinds of request. */
async function collection(onWatch: RequestListener): Promise<{ server: Server; client: KubeRestClient; lists: number[]; watches: number[] }> {
  const lists: number[] = [];
  const watches: number[] = [];
  const server = createServer((req, res) => {
    if (req.url?.includes('watch=true')) {
      watches.push(performance.now());
      onWatch(req, res);
      return;
    }
    lists.push(performance.now());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '10' }, items: [{ metadata: { name: 'p', resourceVersion: '10' } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = await KubeRestClient.create({
    kubeConfig: { getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} },
    qps: 0, burst: 0, userAgent: 'test',
  });
  return { server, client, lists, watches };
}

describe('runListWatch', function () {
  this.timeout(15_000);
  const logger = createLogger({ service: 'test', level: 'silent' });
  let stop: AbortController;
  let server: Server | undefined;
  let client: KubeRestClient | undefined;
  beforeEach(() => { stop = new AbortController(); });
  afterEach(() => { stop.abort(); client?.close(); server?.closeAllConnections(); server?.close(); });

  it('lists again after three refused watches in a row, so that a watch refused for good still brings changes at each list', async () => {
    let lists: number[];
    let watches: number[];
    ({ server, client, lists, watches } = await collection((req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'pods is forbidden: cannot watch' }));
    }));
    const listed: number[] = [];
    const loop = runListWatch({ client, path: '/api/v1/pods', onList: (items) => { listed.push(items.length); }, onEvent: () => undefined, logger, signal: stop.signal });
    await waitFor('a second list', () => lists.length >= 2, { intervalMs: 50 });
    assert.equal(watches.filter((t) => t < lists[1]!).length, 3, 'three watches refused before listing again');
    assert.deepEqual(listed, [1, 1]);
    stop.abort();
    await loop;
  });

  it('counts only failures in a row: failed lists followed by a good one do not make the next refused watch list again at once', async function () {
    this.timeout(30_000);
    let listsAnswered = 0;
    const lists: number[] = [];
    const watches: number[] = [];
    server = createServer((req, res) => {
      if (req.url?.includes('watch=true')) {
        watches.push(performance.now());
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'cannot watch' }));
        return;
      }
      lists.push(performance.now());
      listsAnswered++;
      // The first two lists fail; the third succeeds.
      if (listsAnswered <= 2) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 500, message: 'etcd unavailable' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '10' }, items: [] }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = await KubeRestClient.create({
      kubeConfig: { getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} },
      qps: 0, burst: 0, userAgent: 'test',
    });
    const loop = runListWatch({ client, path: '/api/v1/pods', onList: () => undefined, onEvent: () => undefined, logger, signal: stop.signal });
    await waitFor('two refused watches after the good list', () => watches.length >= 2, { intervalMs: 50 });
    assert.equal(lists.length, 3, 'no list after the first refused watch');
    stop.abort();
    await loop;
  });

  it('waits before reopening a watch that the server ends at once without an event, instead of looping', async () => {
    let watches: number[];
    ({ server, client, watches } = await collection((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end();
    }));
    const loop = runListWatch({ client, path: '/api/v1/pods', onList: () => undefined, onEvent: () => undefined, logger, signal: stop.signal });
    await waitFor('three watches', () => watches.length >= 3, { intervalMs: 50 });
    for (let i = 1; i < 3; i++) {
      assert.ok(watches[i]! - watches[i - 1]! >= 200, `watch ${i + 1} opened ${Math.round(watches[i]! - watches[i - 1]!)} ms after the one before`);
    }
    stop.abort();
    await loop;
  });
});
