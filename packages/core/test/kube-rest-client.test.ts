import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, KubeRestClient, PatchType, isKubeGone, isKubeNotFound, type WatchEvent } from '../src/index.ts';

interface Obj { metadata: { name: string } }

/** A plain-HTTP stand-in for the API server answering with `handler`, and a client of it. */
async function serve(handler: RequestListener, requestTimeoutMs?: number): Promise<{ server: Server; client: KubeRestClient }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = await KubeRestClient.create({
    kubeConfig: { getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} },
    qps: 0, burst: 0, userAgent: 'test', requestTimeoutMs,
  });
  return { server, client };
}

/** A stand-in that answers 200 and writes what each test hands it, in the chunks given. */
function watchServer(write: (res: ServerResponse, url: string) => Promise<void>): Promise<{ server: Server; client: KubeRestClient }> {
  return serve((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    void write(res, req.url ?? '');
  });
}

const line = (type: string, name: string): string => `${JSON.stringify({ type, object: { metadata: { name } } })}\n`;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('KubeRestClient.watch', () => {
  let server: Server | undefined;
  afterEach(() => { server?.closeAllConnections(); server?.close(); });

  it('delivers every event whole when the stream cuts lines anywhere, even inside a multi-byte character', async () => {
    const text = line('ADDED', 'a') + line('MODIFIED', 'crème-brûlée-名前') + '\n' + line('DELETED', 'c').trimEnd();
    const bytes = Buffer.from(text);
    const cuts = [3, bytes.indexOf(Buffer.from('è')) + 1, bytes.indexOf(Buffer.from('名')) + 2, bytes.length - 5];
    let client: KubeRestClient;
    ({ server, client } = await watchServer(async (res) => {
      let at = 0;
      for (const cut of cuts) {
        res.write(bytes.subarray(at, cut));
        at = cut;
        await tick();
      }
      res.end(bytes.subarray(at));
    }));
    const seen: string[] = [];
    await client.watch<Obj>('/api/v1/pods', {}, (e: WatchEvent<Obj>) => seen.push(`${e.type} ${e.object.metadata.name}`), new AbortController().signal);
    assert.deepEqual(seen, ['ADDED a', 'MODIFIED crème-brûlée-名前', 'DELETED c']);
    client.close();
  });

  it('stops at an ERROR event with its code (410 Gone tells the caller to relist) after the events before it', async () => {
    let client: KubeRestClient;
    ({ server, client } = await watchServer(async (res) => {
      res.write(line('ADDED', 'a'));
      res.write(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`);
      res.write(line('ADDED', 'never'));
    }));
    const seen: string[] = [];
    await assert.rejects(client.watch<Obj>('/api/v1/pods', {}, (e) => seen.push(e.object.metadata.name), new AbortController().signal), (err) => isKubeGone(err));
    assert.deepEqual(seen, ['a']);
    client.close();
  });

  it('returns quietly when its signal aborts mid-stream', async () => {
    let client: KubeRestClient;
    ({ server, client } = await watchServer(async (res) => { res.write(line('ADDED', 'a')); }));
    const abort = new AbortController();
    const seen: string[] = [];
    await client.watch<Obj>('/api/v1/pods', {}, (e) => { seen.push(e.object.metadata.name); abort.abort(); }, abort.signal);
    assert.deepEqual(seen, ['a']);
    client.close();
  });
});

describe('KubeRestClient.listPaged', () => {
  let server: Server | undefined;
  afterEach(() => { server?.closeAllConnections(); server?.close(); });

  it('follows continue tokens, keeps the first page\'s resourceVersion, and takes an empty metadata list ("items": null) as no items', async () => {
    let client: KubeRestClient;
    ({ server, client } = await watchServer(async (res, url) => {
      const cont = new URL(url, 'http://x').searchParams.get('continue');
      const page = cont === null
        ? { metadata: { resourceVersion: '7', continue: 'p2' }, items: [{ metadata: { name: 'a' } }] }
        : cont === 'p2' ? { metadata: { resourceVersion: '9', continue: 'p3' }, items: null } : { metadata: { resourceVersion: '9' }, items: [{ metadata: { name: 'b' } }] };
      res.end(JSON.stringify(page));
    }));
    const pages: string[][] = [];
    const rv = await client.listPaged<Obj>('/api/v1/pods', {}, (items) => { pages.push(items.map((i) => i.metadata.name)); });
    assert.equal(rv, '7');
    assert.deepEqual(pages, [['a'], [], ['b']]);
    client.close();
  });
});

describe('KubeRestClient requests', () => {
  let server: Server | undefined;
  afterEach(() => { server?.closeAllConnections(); server?.close(); });

  async function plainServer(handler: RequestListener, requestTimeoutMs?: number): Promise<KubeRestClient> {
    let client: KubeRestClient;
    ({ server, client } = await serve(handler, requestTimeoutMs));
    return client;
  }

  it('keeps its connection across DELETEs with a body (DeleteOptions), so a burst of deletions costs no new connections', async () => {
    const seen: string[] = [];
    const client = await plainServer((req, res) => {
      seen.push(req.url ?? '');
      res.end(JSON.stringify({ kind: 'Pod', metadata: { name: 'p' } }));
    });
    let connections = 0;
    server!.on('connection', () => { connections += 1; });
    for (let i = 0; i < 10; i++) {
      await client.delete(`/api/v1/namespaces/default/pods/p${i}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: `u${i}` } });
    }
    await client.get('/api/v1/namespaces/default/pods/p0', { query: { resourceVersion: '0' } });
    assert.equal(seen.length, 11);
    assert.equal(seen[10], '/api/v1/namespaces/default/pods/p0?resourceVersion=0');
    // undici may open a second connection while the first is being released; closing after each DELETE would make it 11.
    assert.ok(connections <= 2, `${connections} connections for 11 sequential requests`);
    client.close();
  });

  it('fails a request the server never answers with KUBE_API naming it, after the request timeout', async () => {
    const client = await plainServer(() => { /* never answers */ }, 300);
    await assert.rejects(client.get('/api/v1/nodes/n1'), (err: Error & { code?: string }) => {
      assert.equal(err.code, ErrorCodes.KUBE_API);
      assert.match(err.message, /GET \/api\/v1\/nodes\/n1 timed out after 300 ms/);
      return true;
    });
    client.close();
  });

  it('answers a 404 with a KubeApiError carrying the status code and the API server\'s message', async () => {
    const client = await plainServer((req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'pods "x" not found' }));
    });
    await assert.rejects(client.patch('/api/v1/namespaces/default/pods/x/status', { status: {} }, PatchType.StrategicMerge, { discardBody: true }), (err) => {
      assert.ok(isKubeNotFound(err));
      assert.match((err as Error).message, /PATCH \/api\/v1\/namespaces\/default\/pods\/x\/status failed with 404 NotFound: pods "x" not found/);
      return true;
    });
    client.close();
  });

  it('waits out a 429 or 503 that carries Retry-After and sends again', async function () {
    this.timeout(10_000);
    const arrivals: number[] = [];
    const answers = [[429, '1'], [503, '1'], [200, undefined]] as const;
    const client = await plainServer((req, res) => {
      const [status, retryAfter] = answers[arrivals.length] ?? [500, undefined];
      arrivals.push(performance.now());
      res.writeHead(status, { 'content-type': 'application/json', ...(retryAfter ? { 'retry-after': retryAfter } : {}) });
      res.end(JSON.stringify(status === 200 ? { metadata: { name: 'n1' } } : { kind: 'Status', code: status, reason: 'TooManyRequests', message: 'slow down' }));
    });
    assert.deepEqual(await client.get<Obj>('/api/v1/nodes/n1'), { metadata: { name: 'n1' } });
    assert.equal(arrivals.length, 3);
    for (let i = 1; i < arrivals.length; i++) assert.ok(arrivals[i]! - arrivals[i - 1]! >= 950, `send ${i + 1} came ${Math.round(arrivals[i]! - arrivals[i - 1]!)} ms after the one before, within its Retry-After of 1 s`);
    client.close();
  });

  it('fails at once on a 429 without Retry-After, leaving the retry to the caller\'s backoff', async () => {
    const arrivals: number[] = [];
    const noHeader = await plainServer((req, res) => {
      arrivals.push(performance.now());
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }));
    });
    await assert.rejects(noHeader.get('/api/v1/nodes/n1'), /GET \/api\/v1\/nodes\/n1 failed with 429 TooManyRequests: slow down/);
    assert.equal(arrivals.length, 1, 'no retry without Retry-After: the caller\'s own backoff decides');
    noHeader.close();
  });

  it('fails a request the API server refuses at the network level with KUBE_API naming the request and the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const client = await KubeRestClient.create({
      kubeConfig: { getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} },
      qps: 0, burst: 0, userAgent: 'test',
    });
    await assert.rejects(client.get('/api/v1/namespaces/ns/secrets/s'), (err: Error & { code?: string }) => {
      assert.equal(err.code, ErrorCodes.KUBE_API);
      assert.match(err.message, /^Kubernetes API GET \/api\/v1\/namespaces\/ns\/secrets\/s failed: .*ECONNREFUSED/);
      return true;
    });
    client.close();
  });
});
