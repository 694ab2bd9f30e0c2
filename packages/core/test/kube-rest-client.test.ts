import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs/minimal.js';
import { ErrorCodes, KubeRestClient, PatchType, decodeObjectMetadata, isKubeGone, isKubeNotFound, type DecodedObjectMeta, type KubeApiError, type WatchEvent } from '../src/index.ts';

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

/**
 * Protobuf watch frames as the API server writes them (kube-protobuf.ts has the layout): a 4-byte length, a
 * WatchEvent whose object is `k8s\0` + runtime.Unknown around the object's message. Built here with
 * protobufjs's Writer; that the decoder reads the API server's own bytes is the e2e test's job.
 */
function protoEnvelope(kind: string, object: Uint8Array): Buffer {
  const typeMeta = protobuf.Writer.create().uint32(1 << 3 | 2).string('v1').uint32(2 << 3 | 2).string(kind).finish();
  const unknown = protobuf.Writer.create().uint32(1 << 3 | 2).bytes(typeMeta).uint32(2 << 3 | 2).bytes(object).finish();
  return Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), unknown]);
}

function protoFrame(type: string, kind: string, object: Uint8Array): Buffer {
  const raw = protoEnvelope(kind, object);
  const rawExtension = protobuf.Writer.create().uint32(1 << 3 | 2).bytes(raw).finish();
  const event = protobuf.Writer.create().uint32(1 << 3 | 2).string(type).uint32(2 << 3 | 2).bytes(rawExtension).finish();
  const length = Buffer.alloc(4);
  length.writeUInt32BE(event.length);
  return Buffer.concat([length, event]);
}

/** A Pod message with only metadata.name, labels and a spec to skip. */
function protoPod(name: string, labels: Record<string, string> = {}): Uint8Array {
  const meta = protobuf.Writer.create().uint32(1 << 3 | 2).string(name);
  for (const [k, v] of Object.entries(labels)) meta.uint32(11 << 3 | 2).bytes(protobuf.Writer.create().uint32(1 << 3 | 2).string(k).uint32(2 << 3 | 2).string(v).finish());
  const spec = protobuf.Writer.create().uint32(2 << 3 | 2).string('x'.repeat(300)).finish();
  return protobuf.Writer.create().uint32(1 << 3 | 2).bytes(meta.finish()).uint32(2 << 3 | 2).bytes(spec).finish();
}

function protoStatus(code: number, reason: string, message: string): Uint8Array {
  return protobuf.Writer.create().uint32(2 << 3 | 2).string('Failure').uint32(3 << 3 | 2).string(message)
    .uint32(4 << 3 | 2).string(reason).uint32(6 << 3 | 0).int32(code).finish();
}

describe('KubeRestClient.watchProtobuf', () => {
  let server: Server | undefined;
  afterEach(() => { server?.closeAllConnections(); server?.close(); });

  function protoServer(write: (res: ServerResponse) => Promise<void>, status = 200, contentType = 'application/vnd.kubernetes.protobuf;stream=watch'): Promise<{ server: Server; client: KubeRestClient }> {
    return serve((req, res) => {
      assert.equal(req.headers.accept, 'application/vnd.kubernetes.protobuf');
      res.writeHead(status, { 'content-type': contentType });
      void write(res);
    });
  }
  const names = (seen: WatchEvent<{ metadata: DecodedObjectMeta }>[]): string[] => seen.map((e) => `${e.type} ${e.object.metadata.name}`);

  it('delivers every frame whole when the stream cuts them anywhere, including inside the length prefix', async () => {
    const bytes = Buffer.concat([protoFrame('ADDED', 'Pod', protoPod('a', { app: 'crème' })), protoFrame('MODIFIED', 'Pod', protoPod('名前')),
      protoFrame('BOOKMARK', 'Pod', protoPod('')), protoFrame('DELETED', 'Pod', protoPod('c'))]);
    const cuts = [2, 40, 41, bytes.length - 3];
    let client: KubeRestClient;
    ({ server, client } = await protoServer(async (res) => {
      let at = 0;
      for (const cut of cuts) {
        res.write(bytes.subarray(at, cut));
        at = cut;
        await tick();
      }
      res.end(bytes.subarray(at));
    }));
    const seen: WatchEvent<{ metadata: DecodedObjectMeta }>[] = [];
    await client.watchProtobuf('/api/v1/pods', {}, decodeObjectMetadata, (e) => seen.push(e), new AbortController().signal);
    assert.deepEqual(names(seen), ['ADDED a', 'MODIFIED 名前', 'BOOKMARK ', 'DELETED c']);
    assert.deepEqual(seen[0]?.object.metadata.labels, { app: 'crème' });
    client.close();
  });

  it('stops at an ERROR event with the Status\'s code (410 Gone tells the caller to relist) after the events before it', async () => {
    let client: KubeRestClient;
    ({ server, client } = await protoServer(async (res) => {
      res.write(protoFrame('ADDED', 'Pod', protoPod('a')));
      res.write(protoFrame('ERROR', 'Status', protoStatus(410, 'Expired', 'too old resource version: 1 (20)')));
      res.write(protoFrame('ADDED', 'Pod', protoPod('never')));
    }));
    const seen: WatchEvent<{ metadata: DecodedObjectMeta }>[] = [];
    await assert.rejects(client.watchProtobuf('/api/v1/pods', {}, decodeObjectMetadata, (e) => seen.push(e), new AbortController().signal),
      (err: Error) => isKubeGone(err) && /410 Expired: too old resource version/.test(err.message));
    assert.deepEqual(names(seen), ['ADDED a']);
    client.close();
  });

  it('fails, naming the problem, on a stream that ends inside a frame or announces a frame over 64 MB', async () => {
    let client: KubeRestClient;
    const frame = protoFrame('ADDED', 'Pod', protoPod('a'));
    ({ server, client } = await protoServer(async (res) => { res.end(frame.subarray(0, frame.length - 1)); }));
    await assert.rejects(client.watchProtobuf('/api/v1/pods', {}, decodeObjectMetadata, () => {}, new AbortController().signal), /ended inside a frame/);
    client.close();
    server.closeAllConnections();
    server.close();
    ({ server, client } = await protoServer(async (res) => { res.write(Buffer.from([0xff, 0xff, 0xff, 0xff])); }));
    await assert.rejects(client.watchProtobuf('/api/v1/pods', {}, decodeObjectMetadata, () => {}, new AbortController().signal), /over the 67108864-byte limit/);
    client.close();
  });

  it('reads an error answer\'s protobuf Status into the KubeApiError (code, reason and message)', async () => {
    let client: KubeRestClient;
    const body = protoEnvelope('Status', protoStatus(403, 'Forbidden', 'pods is forbidden: User "x" cannot watch resource "pods"'));
    ({ server, client } = await protoServer(async (res) => { res.end(body); }, 403, 'application/vnd.kubernetes.protobuf'));
    await assert.rejects(client.watchProtobuf('/api/v1/pods', {}, decodeObjectMetadata, () => {}, new AbortController().signal),
      (err: KubeApiError) => err.statusCode === 403 && err.reason === 'Forbidden' && /cannot watch resource "pods"/.test(err.message));
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
});
