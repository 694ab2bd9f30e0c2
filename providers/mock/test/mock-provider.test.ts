import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockBackendServer, MockProvider } from '../src/index.ts';

const ref = { namespace: 'ns', name: 'p', uid: 'u1' };
const resolved = {
  pod: { metadata: { namespace: 'ns', name: 'p', uid: 'u1' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  ref, initContainers: [], volumes: [],
  containers: [{ name: 'c', image: 'nginx', command: [], args: [], env: {} }],
};

describe('mock provider over HTTP', () => {
  let server: MockBackendServer;
  let provider: MockProvider;
  let endpoint: string;

  beforeEach(async () => {
    server = new MockBackendServer();
    endpoint = await server.listen();
    provider = new MockProvider({ endpoint, nodeName: 'n', node: { operatingSystem: 'linux', architecture: 'amd64', capacity: {} } });
  });

  afterEach(async () => {
    await provider.close();
    await server.close();
  });

  it('lists a node\'s pods page by page, each pod present for the whole walk exactly once, while pods come and go between pages', async () => {
    const spec = (name: string, node = 'n') => ({ node, ref: { namespace: 'ns', name, uid: `uid-${name}` }, containers: [], initContainers: [], volumes: [] });
    for (let i = 0; i < 1200; i++) server.backend.create(spec(`p${String(i).padStart(4, '0')}`));
    server.backend.create(spec('elsewhere', 'other-node'));
    const seen: string[] = [];
    let pages = 0;
    for await (const page of provider.listPodPages()) {
      pages += 1;
      seen.push(...page.map((p) => p.ref.name));
      if (pages === 1) {
        // Between pages: one already listed and one not yet listed go away, two new pods arrive.
        await provider.deletePod({ namespace: 'ns', name: 'p0000', uid: 'uid-p0000' }, { gracePeriodSeconds: 0 });
        await provider.deletePod({ namespace: 'ns', name: 'p1100', uid: 'uid-p1100' }, { gracePeriodSeconds: 0 });
        server.backend.create(spec('a-new-before'));
        server.backend.create(spec('z-new-after'));
      }
    }
    assert.equal(pages, 3, '1,200 pods in pages of 500');
    assert.equal(new Set(seen).size, seen.length, 'no pod twice');
    const stayed = Array.from({ length: 1200 }, (_, i) => `p${String(i).padStart(4, '0')}`).filter((n) => n !== 'p1100');
    assert.deepEqual(stayed.filter((n) => !seen.includes(n)), [], 'every pod present for the whole walk is listed');
    assert.ok(!seen.includes('p1100') && !seen.includes('elsewhere'));
  });

  it('refuses a listing page size it cannot serve, naming it', async () => {
    const res = await fetch(`${endpoint}/v1/pods?node=n&limit=0`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /limit must be an integer from 1 to 5000, got "0"/);
  });

  it('answers a delete with what is left: the stopping pod during a graceful stop, nothing once it is gone', async () => {
    server.backend.setFaults({ stopLatencyMs: 60_000 });
    await provider.createPod(resolved);
    const stopping = await provider.deletePod(ref, { gracePeriodSeconds: 30 });
    assert.equal(stopping?.ref.uid, 'u1');
    assert.equal(await provider.deletePod(ref, { gracePeriodSeconds: 0 }), undefined);
    assert.equal(await provider.getPod(ref), undefined);
    assert.equal(await provider.deletePod(ref, { gracePeriodSeconds: 0 }), undefined, 'an absent pod is not an error');
    assert.equal(server.received.filter((r) => r.method === 'GET').length, 1, 'the deletes asked nothing more');
  });

  it('serves an init container\'s logs as empty (it completed at once) and names a container the pod does not have', async () => {
    const container = (name: string, image: string) => ({ name, image, command: [], args: [], env: {} });
    server.backend.create({ node: 'n', ref, containers: [container('c', 'nginx')], initContainers: [container('init', 'busybox')], volumes: [] });
    const read = async (container: string): Promise<string> => {
      let text = '';
      for await (const chunk of await provider.getContainerLogs(ref, container, {}, new AbortController().signal)) text += String(chunk);
      return text;
    };
    assert.equal(await read('init'), '');
    assert.match(await read('c'), /mock: started container c \(nginx\)/);
    await assert.rejects(read('nope'), /no container "nope" in pod/);
  });

  it('reports an image the backend cannot get as an image pull error naming the container and image', async () => {
    server.backend.setFaults({ rejectImages: ['nginx'] });
    await assert.rejects(provider.createPod(resolved as never), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'VK_ERR_PROVIDER_IMAGE_PULL');
      assert.deepEqual(err.details, { container: 'c', image: 'nginx' });
      assert.match(err.message, /answered 400: image "nginx" not found in registry/);
      return true;
    });
  });

  it('serves a restarted container\'s previous run\'s log (kubectl logs --previous), and names a container that has none', async () => {
    const read = async (previous: boolean): Promise<string> => {
      let text = '';
      for await (const chunk of await provider.getContainerLogs(ref, 'c', { previous }, new AbortController().signal)) text += String(chunk);
      return text;
    };
    server.backend.setFaults({ restartDelayMs: 0 });
    await provider.createPod(resolved as never);
    await assert.rejects(read(true), /previous terminated container "c" in pod "ns\/p" not found/);
    server.backend.appendLog(ref, 'c', ['first run']);
    const restarted = new Promise<void>((resolve) => server.backend.events.on('changed', () => { if (server.backend.get(ref)?.containers[0]?.restartCount === 1) resolve(); }));
    server.backend.exitContainer(ref, 'c', 1);
    await restarted;
    assert.match(await read(true), /first run/);
    assert.doesNotMatch(await read(false), /first run/);
    assert.match(await read(false), /mock: restarted container c/);
  });

  it('answers pod API calls only after the injected call latency, like a slow cloud API', async () => {
    server.backend.setFaults({ callLatencyMs: 300 });
    const started = performance.now();
    await provider.createPod(resolved);
    assert.ok(performance.now() - started >= 250, `create answered after ${Math.round(performance.now() - started)} ms`);
    server.backend.setFaults({ callLatencyMs: 0 });
    assert.equal((await provider.getPod(ref))?.ref.uid, 'u1');
  });

  it('classifies what a misbehaving backend or proxy answers: throttling and non-JSON answers may pass (transient), other 4xx are permanent, each error names the call and status', async () => {
    // What each call gets back, in order: status and body.
    const answers: [number, string][] = [
      [429, '{"message":"slow down"}'], [408, ''], [400, ''], [200, '<html>proxy login</html>'], [200, ''], [503, 'upstream down'],
    ];
    const proxy = createServer((req, res) => {
      req.resume();
      const [status, body] = answers.shift() ?? [500, ''];
      res.writeHead(status, { 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const behind = new MockProvider({ endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, nodeName: 'n', node: { operatingSystem: 'linux', architecture: 'amd64', capacity: {} } });
    try {
      const expected: [string, RegExp][] = [
        ['VK_ERR_PROVIDER_TRANSIENT', /^mock backend PUT \/v1\/pods\/ns\/p\/u1 answered 429: slow down$/],
        ['VK_ERR_PROVIDER_TRANSIENT', /answered 408: \(no reason given\)$/],
        ['VK_ERR_PROVIDER_PERMANENT', /answered 400: \(no reason given\)$/],
        ['VK_ERR_PROVIDER_TRANSIENT', /answered 200 with a body that is not JSON: <html>proxy login<\/html>$/],
        ['VK_ERR_PROVIDER_TRANSIENT', /answered 200 with an empty body$/],
        ['VK_ERR_PROVIDER_TRANSIENT', /answered 503: upstream down$/],
      ];
      for (const [code, message] of expected) {
        await assert.rejects(behind.createPod(resolved), (err: Error & { code?: string }) => {
          assert.equal(err.code, code, err.message);
          assert.match(err.message, message);
          return true;
        });
      }
    } finally {
      await behind.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('rejects a 200 answer that is JSON of another shape as transient, naming the call and the body, instead of reading `null` as "no pod"', async () => {
    const answers: string[] = [];
    const proxy = createServer((req, res) => {
      req.resume();
      const body = answers.shift() ?? '';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const behind = new MockProvider({ endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, nodeName: 'n', node: { operatingSystem: 'linux', architecture: 'amd64', capacity: {} } });
    const pages = async () => { for await (const page of behind.listPodPages()) void page; };
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['null', () => behind.getPod(ref), /^mock backend GET \/v1\/pods\/ns\/p\/u1 answered 200 with a body that is not a pod: null$/],
      ['{}', () => behind.getPod(ref), /^mock backend GET \/v1\/pods\/ns\/p\/u1 answered 200 with a body that is not a pod: \{\}$/],
      ['{"spec":{"ref":{"namespace":"ns","name":"p","uid":"u1"}}}', () => behind.getPod(ref), /GET \/v1\/pods\/ns\/p\/u1 answered 200 with a body that is not a pod: \{"spec"/],
      ['{}', () => behind.createPod(resolved), /^mock backend PUT \/v1\/pods\/ns\/p\/u1 answered 200 with a body that is not a pod: \{\}$/],
      ['null', () => behind.deletePod(ref, { gracePeriodSeconds: 0 }), /^mock backend DELETE \/v1\/pods\/ns\/p\/u1 answered 200 with a body that is not \{"pod": a pod or null\}: null$/],
      ['{"pod":{}}', () => behind.deletePod(ref, { gracePeriodSeconds: 0 }), /DELETE \/v1\/pods\/ns\/p\/u1 answered 200 with a body that is not \{"pod": a pod or null\}: \{"pod":\{\}\}$/],
      ['[null]', () => behind.listPods(), /^mock backend GET \/v1\/pods answered 200 with a body that is not a list of pods: \[null\]$/],
      ['{}', pages, /^mock backend GET \/v1\/pods answered 200 with a body that is not a page of pods: \{\}$/],
      ['{"pods":[]}', () => behind.getStatsSummary(), /^mock backend GET \/v1\/nodes\/n\/stats answered 200 with a body that is not a stats snapshot: \{"pods":\[\]\}$/],
    ];
    try {
      for (const [body, call, message] of cases) {
        answers.push(body);
        await assert.rejects(call(), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'VK_ERR_PROVIDER_TRANSIENT', `${body}: ${err.message}`);
          assert.match(err.message, message);
          return true;
        }, `answer ${body}`);
      }
      // A pod of the right shape still reads, and a delete answering `{"pod": null}` is "nothing left".
      answers.push(JSON.stringify({ spec: { ref, node: 'n', containers: [], initContainers: [], volumes: [] }, podIP: '10.0.0.1', createdAt: new Date().toISOString(), containers: [], deleting: false }));
      assert.equal((await behind.getPod(ref))?.ref.uid, 'u1');
      answers.push('{"pod":null}');
      assert.equal(await behind.deletePod(ref, { gracePeriodSeconds: 0 }), undefined);
    } finally {
      await behind.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
