import assert from 'node:assert/strict';
import { KubeApiError, createLogger, type KubeRestClient } from '@vk-ts/core';
import { LeaderElector } from '../src/leader-election.ts';

interface Lease { metadata: Record<string, unknown>; spec: Record<string, unknown> }
interface Options { signal?: AbortSignal }

/**
 * A Lease API in memory whose reads can be made to hang, as a request to a dead API
 * server behind a kept-alive connection does: it ends only when its signal aborts.
 */
class LeaseApi {
  lease: Lease | undefined;
  hang = false;
  requests = 0;

  asClient(): KubeRestClient {
    const answer = <T>(options: Options, value: () => T): Promise<T> => {
      this.requests += 1;
      if (!this.hang) return Promise.resolve(value());
      return new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error)));
    };
    return {
      get: (path: string, options: Options = {}) => answer(options, () => {
        if (!this.lease) throw new KubeApiError('GET', path, 404, { reason: 'NotFound' });
        return structuredClone(this.lease);
      }),
      create: (_path: string, body: Lease, options: Options = {}) => answer(options, () => {
        this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: '1' } };
        return structuredClone(this.lease);
      }),
      replace: (_path: string, body: Lease, options: Options = {}) => answer(options, () => {
        this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(Number(this.lease?.metadata['resourceVersion'] ?? 0) + 1) } };
        return structuredClone(this.lease);
      }),
    } as unknown as KubeRestClient;
  }
}

describe('leader election', () => {
  it('stops leading by its renew deadline when a Lease request hangs, before a standby could take over', async () => {
    const api = new LeaseApi();
    let started = 0;
    const stopped = Promise.withResolvers<number>();
    const elector = new LeaderElector({
      client: api.asClient(), logger: createLogger({ service: 'test', level: 'silent' }),
      namespace: 'default', name: 'le', identity: 'a',
      leaseDurationSeconds: 2, renewDeadlineSeconds: 1, retryPeriodSeconds: 0.1,
      onStartedLeading: () => { started = Date.now(); },
      onStoppedLeading: async () => { stopped.resolve(Date.now()); },
    });
    elector.start();
    try {
      const renewedBefore = api.requests;
      await waitUntil(() => elector.isLeader && api.requests > renewedBefore + 2, 'a few renewals');
      const lastGoodRenewal = Date.now();
      api.hang = true;
      const stoppedAt = await stopped.promise;
      assert.ok(started > 0);
      assert.equal(elector.isLeader, false);
      // The Lease was last written before `lastGoodRenewal`; a standby may take it 2 s (the lease duration) after that.
      assert.ok(stoppedAt - lastGoodRenewal < 2000, `stopped leading ${stoppedAt - lastGoodRenewal} ms after the last renewal`);
    } finally {
      api.hang = false;
      await elector.close();
    }
  });

  it('closes at once while a Lease request hangs', async () => {
    const api = new LeaseApi();
    const elector = new LeaderElector({
      client: api.asClient(), logger: createLogger({ service: 'test', level: 'silent' }),
      namespace: 'default', name: 'le', identity: 'a',
      leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 0.1,
      onStartedLeading: () => undefined,
      onStoppedLeading: async () => undefined,
    });
    elector.start();
    await waitUntil(() => elector.isLeader, 'leading');
    api.hang = true;
    const hungAt = api.requests;
    await waitUntil(() => api.requests > hungAt, 'a hanging renewal');
    // close() aborts the hanging round, which would otherwise last the request's own timeout (30 s by
    // default), and then releases the Lease (that request answers).
    api.hang = false;
    const closing = Date.now();
    await elector.close();
    // Well inside the round's own budget (its renew deadline, 10 s), which is all a close that did not abort would wait for.
    assert.ok(Date.now() - closing < 5000, `close took ${Date.now() - closing} ms`);
    assert.equal(elector.isLeader, false);
    assert.equal(api.lease?.spec['holderIdentity'], '', 'released');
  });
});

/** Polls a condition every 10 ms (the elector's rounds run on real timers of 0.1 s). */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
