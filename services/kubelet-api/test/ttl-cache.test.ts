import assert from 'node:assert/strict';
import { TtlCache } from '../src/auth/ttl-cache.ts';

describe('TtlCache', () => {
  it('serves an entry until its TTL passes, then forgets it', () => {
    let now = 1000;
    const cache = new TtlCache<string>({ maxEntries: 10, now: () => now });
    cache.set('a', 'x', 500);
    now = 1499;
    assert.equal(cache.get('a'), 'x');
    now = 1500;
    assert.equal(cache.get('a'), undefined);
  });

  it('drops the oldest entry when full and stores nothing with a zero TTL', () => {
    const cache = new TtlCache<number>({ maxEntries: 2 });
    cache.set('a', 1, 10_000);
    cache.set('b', 2, 10_000);
    cache.set('c', 3, 10_000);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('c'), 3);
    cache.set('d', 4, 0);
    assert.equal(cache.get('d'), undefined);
    assert.equal(cache.size, 2);
  });

  it('shares one fetch among concurrent loads of a key, caches its answer, and caches no failure', async () => {
    const cache = new TtlCache<string>({ maxEntries: 10 });
    let fetches = 0;
    let answer!: (v: { value: string; ttlMs: number }) => void;
    const slow = () => { fetches += 1; return new Promise<{ value: string; ttlMs: number }>((resolve) => { answer = resolve; }); };
    const waiting = Array.from({ length: 20 }, () => cache.load('token', slow));
    answer({ value: 'alice', ttlMs: 10_000 });
    assert.deepEqual(await Promise.all(waiting), Array(20).fill('alice'));
    assert.equal(await cache.load('token', slow), 'alice', 'cached');
    assert.equal(fetches, 1);

    let failures = 0;
    const failing = async (): Promise<{ value: string; ttlMs: number }> => { failures += 1; throw new Error('apiserver unreachable'); };
    const results = await Promise.allSettled([cache.load('other', failing), cache.load('other', failing)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal(failures, 1, 'the concurrent callers shared the failing fetch');
    await assert.rejects(cache.load('other', failing), /unreachable/);
    assert.equal(failures, 2, 'the failure was not cached');
  });
});
