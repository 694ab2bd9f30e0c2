import assert from 'node:assert/strict';
import { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger, type KubeRestClient } from '@vk-ts/core';
import { buildApp } from '../src/app.ts';
import type { NodeAuthorizer } from '../src/auth/auth-hook.ts';
import type { NodeRequestAttributes } from '../src/auth/request-attributes.ts';
import { RequestAuthenticator } from '../src/auth/request-authenticator.ts';
import { TokenReviewer } from '../src/auth/token-reviewer.ts';
import { ANONYMOUS_USER, type UserInfo } from '../src/auth/user-info.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Allows what `rules` lists as "<user> <verb> <subresource>", records every question. */
class FakeAuthorizer implements NodeAuthorizer {
  readonly asked: string[] = [];
  readonly rules: string[];
  fail = false;
  constructor(rules: string[]) {
    this.rules = rules;
  }
  async allowed(user: UserInfo, attrs: NodeRequestAttributes, subresource: string): Promise<boolean> {
    const q = `${user.username} ${attrs.verb} ${subresource}`;
    this.asked.push(q);
    if (this.fail) throw new Error('apiserver unreachable');
    return this.rules.includes(q);
  }
}

describe('kubelet-api authentication and authorization', () => {
  let app: FastifyInstance;
  let authorizer: FakeAuthorizer;
  const users: Record<string, UserInfo> = {
    'token-admin': { username: 'admin', groups: ['system:masters'] },
    'token-reader': { username: 'reader', groups: [] },
  };

  beforeEach(async () => {
    authorizer = new FakeAuthorizer(['admin get healthz', 'reader get proxy', 'anon get healthz']);
    app = buildApp({
      logger, registry: new Registry(), nodeName: 'n1',
      auth: { authenticator: new RequestAuthenticator({ anonymous: false, tokens: { review: async (t) => users[t] } }), authorizer },
    });
    await app.ready();
  });
  afterEach(() => app.close());

  it('answers 401 Unauthorized without credentials, with an unknown token, and on unknown paths', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic YTpi' }]) {
      const res = await app.inject({ url: '/healthz', headers });
      assert.equal(res.statusCode, 401);
      assert.equal(res.body, 'Unauthorized\n');
    }
    assert.equal((await app.inject({ url: '/no/such/path' })).statusCode, 401);
    assert.deepEqual(authorizer.asked, [], 'nobody unauthenticated reaches authorization');
  });

  it('answers 403 in the kubelet\'s words when the user may not, and serves when allowed', async () => {
    const denied = await app.inject({ url: '/stats/summary', headers: { authorization: 'Bearer token-admin' } });
    assert.equal(denied.statusCode, 403);
    assert.equal(denied.body, 'Forbidden (user=admin, verb=get, resource=nodes, subresource(s)=[stats])\n');
    const ok = await app.inject({ url: '/healthz', headers: { authorization: 'Bearer token-admin' } });
    assert.equal(ok.statusCode, 200);
  });

  it('tries the fine-grained subresource first and falls back to proxy', async () => {
    const res = await app.inject({ url: '/healthz', headers: { authorization: 'bearer token-reader' } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(authorizer.asked, ['reader get healthz', 'reader get proxy']);
  });

  it('answers 500 Authorization error when the authorizer cannot decide', async () => {
    authorizer.fail = true;
    const res = await app.inject({ url: '/healthz', headers: { authorization: 'Bearer token-admin' } });
    assert.equal(res.statusCode, 500);
    assert.match(res.body, /^Authorization error \(user=admin, verb=get, resource=nodes, subresource\(s\)=\[healthz proxy\]\)/);
  });

  it('treats requests without credentials as system:anonymous when anonymous auth is on', async () => {
    const anon = buildApp({
      logger, registry: new Registry(), nodeName: 'n1',
      auth: { authenticator: new RequestAuthenticator({ anonymous: true }), authorizer },
    });
    try {
      const res = await anon.inject({ url: '/healthz' });
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /user=system:anonymous/);
    } finally {
      await anon.close();
    }
  });
});

describe('RequestAuthenticator', () => {
  const token = { review: async (t: string) => (t === 'good' ? { username: 'sa', groups: ['system:serviceaccounts', 'system:authenticated'] } : undefined) };
  /** A TLS socket as Node hands it over after the handshake, with or without a peer certificate that verified. */
  const tlsSocket = (cert: Record<string, unknown>, authorized: boolean): TLSSocket =>
    Object.assign(Object.create(TLSSocket.prototype) as TLSSocket, { authorized, getPeerCertificate: () => cert });
  const plain = tlsSocket({}, false);

  it('answers 401, never system:anonymous, to credentials that are presented and rejected, even with anonymous auth on', async () => {
    const auth = new RequestAuthenticator({ anonymous: true, tokens: token });
    assert.equal(await auth.authenticate(plain, { authorization: 'Bearer expired' }), undefined, 'a rejected token');
    const strangerCert = tlsSocket({ subject: { CN: 'mallory' } }, false);
    assert.equal(await auth.authenticate(strangerCert, {}), undefined, 'a certificate that does not verify');
    assert.equal((await auth.authenticate(strangerCert, { authorization: 'Bearer good' }))?.username, 'sa', 'a good token authenticates beside a bad certificate, as in the kubelet');
    assert.equal(await auth.authenticate(strangerCert, { authorization: 'Bearer expired' }), undefined, 'both rejected');
    assert.deepEqual(await auth.authenticate(plain, {}), ANONYMOUS_USER, 'no credentials at all');
    assert.deepEqual(await auth.authenticate(plain, { authorization: 'Basic dXNlcjpwdw==' }), ANONYMOUS_USER, 'not a bearer token: no credentials');
  });

  it('puts every authenticated user in system:authenticated, certificate users too', async () => {
    const auth = new RequestAuthenticator({ anonymous: false, tokens: token });
    assert.deepEqual(await auth.authenticate(tlsSocket({ subject: { CN: 'system:node:n1', O: 'system:nodes' } }, true), {}),
      { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] });
    assert.deepEqual(await auth.authenticate(plain, { authorization: 'Bearer good' }), { username: 'sa', groups: ['system:serviceaccounts', 'system:authenticated'] });
  });
});

describe('TokenReviewer', () => {
  it('asks the API server once per token within the TTL, for accepted and for rejected tokens', async () => {
    const sent: unknown[] = [];
    const client = {
      create: async (_path: string, body: { spec: { token: string } }) => {
        sent.push(body);
        return body.spec.token === 'good'
          ? { status: { authenticated: true, user: { username: 'system:serviceaccount:ns:sa', uid: 'u1', groups: ['system:serviceaccounts'] } } }
          : { status: { authenticated: false, error: 'invalid bearer token' } };
      },
    } as unknown as KubeRestClient;
    const reviewer = new TokenReviewer({ client, logger, authenticatedTtlMs: 60_000, unauthenticatedTtlMs: 10_000 });
    const user = await reviewer.review('good');
    assert.deepEqual(user, { username: 'system:serviceaccount:ns:sa', uid: 'u1', groups: ['system:serviceaccounts'] });
    await reviewer.review('good');
    assert.equal(await reviewer.review('bad'), undefined);
    assert.equal(await reviewer.review('bad'), undefined);
    assert.equal(sent.length, 2);
  });
});
