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
});
