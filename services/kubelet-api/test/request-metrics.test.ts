import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { createLogger, type KubeRestClient, type Provider } from '@vk-ts/core';
import { buildApp } from '../src/app.ts';
import { RequestAuthenticator } from '../src/auth/request-authenticator.ts';
import type { UserInfo } from '../src/auth/user-info.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const client = {
  get: async () => ({ metadata: { namespace: 'ns', name: 'p', uid: 'u1' }, spec: { nodeName: 'n1', containers: [{ name: 'app' }] } }),
} as unknown as KubeRestClient;
const provider = { name: 'stand-in', getContainerLogs: async () => Readable.from(['line\n']) } as unknown as Provider;

describe('kubelet-api request metrics', () => {
  it('counts answers by route pattern and code, never by pod name, and unknown paths as one route', async () => {
    const registry = new Registry();
    const app = buildApp({ logger, registry, nodeName: 'n1', auth: { insecureNoAuth: true }, client, provider });
    try {
      assert.equal((await app.inject({ url: '/containerLogs/ns/p/app' })).statusCode, 200);
      assert.equal((await app.inject({ url: '/containerLogs/ns/other/app' })).statusCode, 200);
      assert.equal((await app.inject({ url: '/no/such/path/secret-pod' })).statusCode, 404);
      assert.equal((await app.inject({ url: '/another/unknown' })).statusCode, 404);
      const text = await registry.metrics();
      assert.match(text, /^vk_kubelet_api_requests_total\{route="\/containerLogs\/:namespace\/:pod\/:container",code="200"\} 2$/m);
      assert.match(text, /^vk_kubelet_api_requests_total\{route="unmatched",code="404"\} 2$/m);
      assert.doesNotMatch(text, /secret-pod|other/);
    } finally {
      await app.close();
    }
  });

  it('counts refused requests by reason', async () => {
    const registry = new Registry();
    const users: Record<string, UserInfo> = { 'token-reader': { username: 'reader', groups: [] } };
    let authorizerFails = false;
    const app = buildApp({
      logger, registry, nodeName: 'n1', client, provider,
      auth: {
        authenticator: new RequestAuthenticator({ anonymous: false, tokens: { review: async (t) => users[t] } }),
        authorizer: { allowed: async (_user, _attrs, subresource) => { if (authorizerFails) throw new Error('apiserver unreachable'); return subresource === 'proxy'; } },
      },
    });
    try {
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 401);
      assert.equal((await app.inject({ url: '/stats/summary', headers: { authorization: 'Bearer token-reader' } })).statusCode, 403);
      authorizerFails = true;
      assert.equal((await app.inject({ url: '/pods', headers: { authorization: 'Bearer token-reader' } })).statusCode, 500);
      const text = await registry.metrics();
      assert.match(text, /^vk_kubelet_api_auth_failures_total\{reason="unauthenticated"\} 1$/m);
      assert.match(text, /^vk_kubelet_api_auth_failures_total\{reason="forbidden"\} 1$/m);
      assert.match(text, /^vk_kubelet_api_auth_failures_total\{reason="authorization_error"\} 1$/m);
      assert.match(text, /^vk_kubelet_api_requests_total\{route="\/stats\/summary",code="403"\} 1$/m);
    } finally {
      await app.close();
    }
  });
});
