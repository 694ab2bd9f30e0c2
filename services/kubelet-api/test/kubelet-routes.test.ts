import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { ErrorCodes, VkError, createLogger, type KubeRestClient, type LogOptions, type Provider, type StatsSummary } from '@vk-ts/core';
import { buildApp } from '../src/app.ts';
import { parseRfc3339 } from '../src/routes/container-logs.ts';

/**
 * The routes as a real client calls them, against a stand-in provider that
 * records what it is asked (the mock provider's own behaviour is tested
 * against its backend elsewhere). No authentication: that is auth-hook.test.ts.
 */
describe('kubelet-api routes', () => {
  let app: FastifyInstance;
  let asked: LogOptions[];
  let logsFail: Error | undefined;

  beforeEach(async () => {
    asked = [];
    logsFail = undefined;
    const client = {
      get: async () => ({ metadata: { namespace: 'ns', name: 'p', uid: 'u1' }, spec: { nodeName: 'n1', containers: [{ name: 'app' }] } }),
    } as unknown as KubeRestClient;
    const summary: StatsSummary = { node: { nodeName: 'n1', startTime: '2026-01-01T00:00:00Z' }, pods: [] } as unknown as StatsSummary;
    const provider = {
      name: 'stand-in',
      getContainerLogs: async (_ref: unknown, _container: string, options: LogOptions) => {
        if (logsFail) throw logsFail;
        asked.push(options);
        return Readable.from(['line\n']);
      },
      getStatsSummary: async () => summary,
    } as unknown as Provider;
    app = buildApp({ logger: createLogger({ service: 'test', level: 'silent' }), registry: new Registry(), nodeName: 'n1', auth: { insecureNoAuth: true }, client, provider });
    await app.ready();
  });
  afterEach(() => app.close());

  it('answers a known path asked with another method 405 naming the methods it takes, and an unknown path 404, as the kubelet does', async () => {
    const wrong = await app.inject({ method: 'DELETE', url: '/containerLogs/ns/p/app?follow=true' });
    assert.equal(wrong.statusCode, 405);
    assert.equal(wrong.headers.allow, 'GET, HEAD');
    assert.match(wrong.body, /^405: Method Not Allowed: DELETE \/containerLogs\/ns\/p\/app \(allowed: GET, HEAD\)/);
    const put = await app.inject({ method: 'PUT', url: '/stats/summary' });
    assert.equal(put.statusCode, 405);
    assert.match(String(put.headers.allow), /GET/);
    assert.match(String(put.headers.allow), /POST/);
    const unknown = await app.inject({ method: 'DELETE', url: '/no/such/path' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.body, '404 page not found: DELETE /no/such/path\n');
  });

  it('reads log switches as the kubelet decodes them: empty or any word but false and 0 is true', async () => {
    for (const [query, follow] of [['follow', true], ['follow=', true], ['follow=True', true], ['follow=yes', true], ['follow=FALSE', false], ['follow=0', false], ['', false]] as const) {
      const res = await app.inject({ url: `/containerLogs/ns/p/app?${query}` });
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
      assert.equal(asked.at(-1)?.follow, follow, query);
    }
  });

  it('takes sinceTime only as a whole RFC 3339 time, and names one that is not', async () => {
    const ok = await app.inject({ url: '/containerLogs/ns/p/app?sinceTime=2026-01-02T15:04:05.123456789%2B02:00' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(asked.at(-1)?.sinceTime?.toISOString(), '2026-01-02T13:04:05.123Z');
    for (const bad of ['2026-02-30T00:00:00Z', '2026-01-02T15:04:05', '2026-01-02T15:04Z', '2026-01-02', '2026-13-01T00:00:00Z', '2026-01-02T24:00:00Z']) {
      const res = await app.inject({ url: `/containerLogs/ns/p/app?sinceTime=${encodeURIComponent(bad)}` });
      assert.equal(res.statusCode, 400, bad);
      assert.match(res.body, /is not an RFC 3339 time/, bad);
    }
  });

  it('answers a provider that cannot serve logs with 400 and its reason, which the API server passes on to kubectl', async () => {
    logsFail = new VkError(ErrorCodes.PROVIDER_TRANSIENT, 'the cloud API is throttling');
    const res = await app.inject({ url: '/containerLogs/ns/p/app' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.body, 'cannot read the logs of container "app" in pod "ns/p": the cloud API is throttling\n');
  });

  it('serves /stats/summary to GET and POST, and /metrics/cadvisor and /metrics/probes with no samples instead of a 404', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const res = await app.inject({ method, url: '/stats/summary' });
      assert.equal(res.statusCode, 200, method);
      assert.equal((JSON.parse(res.body) as StatsSummary).node.nodeName, 'n1');
    }
    for (const url of ['/metrics/cadvisor', '/metrics/probes']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.ok(res.body.split('\n').every((line) => line === '' || line.startsWith('#')), `${url} has samples: ${res.body}`);
    }
  });
});

describe('parseRfc3339', () => {
  it('reads offsets and fractions, and refuses out-of-range fields and lower-case separators, as Go\'s time.Parse', () => {
    assert.equal(parseRfc3339('2024-02-29T23:59:59Z')?.toISOString(), '2024-02-29T23:59:59.000Z');
    assert.equal(parseRfc3339('2024-02-29t23:59:59z'), undefined);
    assert.equal(parseRfc3339('2026-01-02T00:30:00-01:30')?.toISOString(), '2026-01-02T02:00:00.000Z');
    assert.equal(parseRfc3339('2025-02-29T00:00:00Z'), undefined, 'not a leap year');
    assert.equal(parseRfc3339('2026-01-02T00:00:00+24:00'), undefined);
  });
});
