import assert from 'node:assert/strict';
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

  beforeEach(async () => {
    server = new MockBackendServer();
    const endpoint = await server.listen();
    provider = new MockProvider({ endpoint, nodeName: 'n', node: { operatingSystem: 'linux', architecture: 'amd64', capacity: {} } });
  });

  afterEach(async () => {
    await provider.close();
    await server.close();
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

  it('answers pod API calls only after the injected call latency, like a slow cloud API', async () => {
    server.backend.setFaults({ callLatencyMs: 300 });
    const started = performance.now();
    await provider.createPod(resolved);
    assert.ok(performance.now() - started >= 250, `create answered after ${Math.round(performance.now() - started)} ms`);
    server.backend.setFaults({ callLatencyMs: 0 });
    assert.equal((await provider.getPod(ref))?.ref.uid, 'u1');
  });
});
