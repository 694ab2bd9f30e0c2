import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { TokenBucket } from '../src/token-bucket.ts';

describe('TokenBucket', () => {
  it('lets a burst through at once and then paces requests at the QPS', async () => {
    const bucket = new TokenBucket({ qps: 100, burst: 5 });
    const started = performance.now();
    for (let i = 0; i < 5; i++) await bucket.acquire();
    assert.ok(performance.now() - started < 5, 'the burst does not wait');
    await bucket.acquire();
    await bucket.acquire();
    // Two more tokens at 100/s take about 20 ms; allow generous slack for a busy machine.
    assert.ok(performance.now() - started >= 15, 'requests beyond the burst wait for tokens');
  });

  it('never waits when qps <= 0', async () => {
    // A throttled acquire would wait on a timer; faked, no timer ever fires.
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const bucket = new TokenBucket({ qps: 0, burst: 1 });
      const all = Promise.all(Array.from({ length: 1000 }, () => bucket.acquire())).then(() => 'all granted');
      const later = new Promise((resolve) => { setImmediate(() => resolve('still waiting')); });
      assert.equal(await Promise.race([all, later]), 'all granted');
    } finally {
      mock.timers.reset();
    }
  });
});
