import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger } from '@vk-ts/core';
import { MockBackendServer, MockProvider } from '@vk-ts/provider-mock';
import { waitFor } from '@vk-ts/testbed';
import { buildApp } from '../../services/kubelet-api/src/app.ts';
import { env } from './fixtures.ts';

const NODE = 'kapi-fuzz-node';
const NS = 'kapi-fuzz';
const CASES = 3000;

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('kubelet-api under fuzzed paths and query strings', function () {
  this.timeout(180_000);
  let app: FastifyInstance;
  let uid = '';
  // A mock backend of its own: every request it receives came from this test's kubelet-api, so all of them are checked.
  const mock = new MockBackendServer();

  before(async () => {
    await env.kubectl('create', 'namespace', NS);
    // Pods need the namespace's default ServiceAccount to pass admission.
    await waitFor('default service account', () => env.kubectl('-n', NS, 'get', 'sa', 'default').then(() => true));
    const pod = await env.client.create<{ metadata: { uid: string } }>(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'target' },
      spec: { nodeName: NODE, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }], containers: [{ name: 'app', image: 'busybox' }] },
    });
    uid = pod.metadata.uid;
    // The provider side of the pod, made directly in the mock backend (no pod-worker needed here).
    const mockUrl = await mock.listen(0);
    mock.backend.create({ node: NODE, ref: { namespace: NS, name: 'target', uid }, containers: [{ name: 'app', image: 'busybox', command: [], args: [], env: {} }], initContainers: [], volumes: [] });
    mock.backend.appendLog({ namespace: NS, name: 'target', uid }, 'app', ['one', 'two']);
    app = buildApp({
      logger: createLogger({ service: 'kubelet-api-fuzz', level: 'silent' }), registry: new Registry(),
      auth: { insecureNoAuth: true }, client: env.client, nodeName: NODE,
      provider: new MockProvider({ endpoint: mockUrl, nodeName: NODE, node: { operatingSystem: 'linux', architecture: 'amd64', capacity: {} } }),
    });
    await app.ready();
  });

  after(async () => {
    await app?.close();
    await mock.close();
  });

  it('never answers 5xx and never hands the provider a value that was not validated', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const segments = [
      NS, 'target', 'app', '..', '%2e%2e', '..%2f..%2fetc%2fpasswd', '%2F', '%FF%FE', '%C0%AF', '%00', '%E2%80%AE', 'ünï',
      'a'.repeat(300), 'A'.repeat(20_000), 'Target', 'target%2f..', '', ' ', '%20', '%', '%zz', 'nope',
    ] as const;
    const values = [
      '-1', '0', '1', '5', '1e3', '0x10', ' 5', '5 ', '99999999999999999999999', '999999999999999', '9'.repeat(100_000), '%FF', '%00',
      '2026-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-13-45T99:99:99Z', 'not-a-time', 'true', 'false', '', 'yes',
    ] as const;
    const keys = ['tailLines', 'limitBytes', 'sinceSeconds', 'sinceTime', 'timestamps', 'previous', 'only_cpu_and_memory', 'junk', 'tailLines'] as const;
    const template = (): string => {
      const s = (): string => pick(segments);
      return pick([
        () => `/containerLogs/${NS}/target/app`,
        () => `/containerLogs/${s()}/${s()}/${s()}`,
        () => `/containerLogs/${NS}/${s()}/app`,
        () => `/containerLogs/${NS}/target/${s()}`,
        () => `/containerLogs/${s()}/${s()}`,
        () => '/stats/summary', () => '/metrics/resource', () => '/pods', () => '/runningpods/',
        () => `/stats/${s()}`, () => `/${s()}/${s()}`,
      ])();
    };
    const start = mock.received.length;
    const failures: string[] = [];
    const logs = `/containerLogs/${NS}/target/app`;
    // Every value against the one valid log path first, then random combinations.
    const fixed = keys.flatMap((k) => values.map((v) => `${logs}?${k}=${v}`));
    for (let i = 0; i < fixed.length + CASES; i++) {
      const params = Array.from({ length: Math.floor(rand() * 4) }, () => `${pick(keys)}=${pick(values)}`);
      // follow is only ever off: a followed log of a running container never ends by itself.
      if (rand() < 0.2) params.push('follow=false');
      const url = fixed[i] ?? `${template()}${params.length ? `?${params.join('&')}` : ''}`;
      const res = await app.inject({ method: 'GET', url });
      if (res.statusCode >= 500) failures.push(`${res.statusCode} ${url.slice(0, 300)}: ${res.body.slice(0, 200)}`);
    }
    assert.deepEqual(failures, [], `seed ${seed}: 5xx answers`);

    // Everything that reached the "cloud" is well-formed.
    const logsPath = `/v1/pods/${NS}/target/${uid}/logs/app`;
    const reached = mock.received.slice(start);
    assert.ok(reached.some((r) => r.url.startsWith(logsPath)), 'some valid requests did reach the provider');
    for (const r of reached) {
      const url = new URL(r.url, 'http://mock');
      assert.equal(r.method, 'GET', r.url);
      if (url.pathname === '/v1/pods') {
        assert.deepEqual([...url.searchParams], [['node', NODE]], r.url);
        continue;
      }
      // The stats' snapshot of the node.
      if (url.pathname === `/v1/nodes/${NODE}/stats`) {
        assert.deepEqual([...url.searchParams], [], r.url);
        continue;
      }
      assert.equal(url.pathname, logsPath, `seed ${seed}: only the real pod's real container reaches the provider: ${r.url.slice(0, 300)}`);
      for (const [key, value] of url.searchParams) {
        const ok = {
          tailLines: /^\d{1,15}$/, limitBytes: /^[1-9]\d{0,14}$/, timestamps: /^true$/, previous: /^true$/,
          sinceTime: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/,
        }[key];
        assert.ok(ok?.test(value), `seed ${seed}: unvalidated ${key}=${value.slice(0, 80)} reached the provider`);
      }
    }
  });
});
