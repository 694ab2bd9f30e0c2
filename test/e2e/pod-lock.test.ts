import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { podLockKey } from '@vk-ts/core';
import { waitFor } from '@vk-ts/testbed';
import { PodLocks } from '../../services/pod-worker/src/pod-lock.ts';
import { env } from './fixtures.ts';

describe('the per-pod fencing lock, against real Redis', () => {
  let redis: Redis;
  let other: Redis;
  beforeEach(() => {
    redis = new Redis(env.redis.url, { maxRetriesPerRequest: null });
    other = new Redis(env.redis.url, { maxRetriesPerRequest: null });
  });
  afterEach(() => {
    redis.disconnect();
    other.disconnect();
  });

  const pod = (name: string) => ({ namespace: 'lock-ns', name });

  it('lets one worker hold a pod: a second token waits until the holder releases, and a stale token releases nothing', async () => {
    const a = new PodLocks(redis, 'lock-node', 30_000);
    const b = new PodLocks(other, 'lock-node', 30_000);
    assert.equal(await a.acquire(pod('p1'), 'token-a'), true);
    assert.equal(await a.acquire(pod('p1'), 'token-a'), true, 'the holder taking it again under its own token');
    assert.equal(await b.acquire(pod('p1'), 'token-b'), false);
    assert.equal(await b.release(pod('p1'), 'token-b'), false, 'a release under another token');
    assert.equal(await b.acquire(pod('p1'), 'token-b'), false, 'still held by the first token');
    assert.equal(await b.acquire(pod('p2'), 'token-b'), true, 'another pod of the same node is free');
    assert.equal(await a.release(pod('p1'), 'token-a'), true);
    assert.equal(await b.acquire(pod('p1'), 'token-b'), true);
    await b.release(pod('p1'), 'token-b');
    await b.release(pod('p2'), 'token-b');
  });

  it('expires on its own, so a crashed holder blocks a pod for at most the TTL, and the late holder then releases nothing', async () => {
    const a = new PodLocks(redis, 'lock-node', 50);
    const b = new PodLocks(other, 'lock-node', 30_000);
    assert.equal(await a.acquire(pod('p3'), 'token-a'), true);
    const key = podLockKey('lock-node', pod('p3'));
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= 50, `TTL ${ttl} ms`);
    await waitFor('Redis to expire the lock', async () => (await redis.exists(key)) === 0, { timeoutMs: 5000, intervalMs: 10 });
    assert.equal(await b.acquire(pod('p3'), 'token-b'), true);
    assert.equal(await a.release(pod('p3'), 'token-a'), false, 'the expired holder must not release the new holder\'s lock');
    assert.equal(await redis.get(key), 'token-b');
    await b.release(pod('p3'), 'token-b');
  });

  it('still releases after Redis forgot its scripts (SCRIPT FLUSH, as after a Redis restart)', async () => {
    const a = new PodLocks(redis, 'lock-node', 30_000);
    assert.equal(await a.acquire(pod('p4'), 'token-a'), true);
    assert.equal(await a.release(pod('p4'), 'token-a'), true);
    await redis.script('FLUSH');
    assert.equal(await a.acquire(pod('p4'), 'token-a'), true);
    assert.equal(await a.release(pod('p4'), 'token-a'), true);
    assert.equal(await redis.exists(podLockKey('lock-node', pod('p4'))), 0);
  });
});
