import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { renewalTime, scheduleAt } from '../src/tls/renewal-time.ts';

const DAY_MS = 24 * 3600_000;

describe('serving certificate renewal time', () => {
  // restoreAll first: the setTimeout spy below wraps the fake one, which it would otherwise put back after reset() restored the real one.
  afterEach(() => { mock.restoreAll(); mock.timers.reset(); });

  it('falls between 70% and 90% of the lifetime', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-01-11T00:00:00Z');
    assert.equal(renewalTime(from, to, () => 0).toISOString(), '2026-01-08T00:00:00.000Z');
    assert.equal(renewalTime(from, to, () => 1).toISOString(), '2026-01-10T00:00:00.000Z');
  });

  it('fires at once for a time already past', () => {
    let fired = 0;
    scheduleAt(new Date(Date.now() - 1), () => { fired += 1; });
    assert.equal(fired, 1);
  });

  it('fires a year away at that time, although setTimeout cannot wait that long in one go', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    // The fake clock does not overflow as Node's real timers do (a longer delay becomes 1 ms), so the delays asked for are checked.
    const delays: number[] = [];
    const fakeSetTimeout = globalThis.setTimeout;
    mock.method(globalThis, 'setTimeout', (fn: () => void, ms: number) => { delays.push(ms); return fakeSetTimeout(fn, ms); });
    let fired = 0;
    scheduleAt(new Date(365 * DAY_MS), () => { fired += 1; });
    mock.timers.tick(364 * DAY_MS);
    assert.equal(fired, 0, 'fired before its time');
    mock.timers.tick(DAY_MS);
    assert.equal(fired, 1);
    mock.timers.tick(365 * DAY_MS);
    assert.equal(fired, 1, 'fired more than once');
    assert.ok(delays.length > 1 && delays.every((ms) => ms <= 2 ** 31 - 1), `delays beyond setTimeout's range: ${delays.join(', ')}`);
  });

  it('never fires once cancelled, before or after the first chained wait', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    let fired = 0;
    const cancelAtOnce = scheduleAt(new Date(365 * DAY_MS), () => { fired += 1; });
    cancelAtOnce();
    const cancelLater = scheduleAt(new Date(365 * DAY_MS), () => { fired += 1; });
    mock.timers.tick(30 * DAY_MS); // past the first chained timer (about 24.8 days)
    cancelLater();
    mock.timers.tick(400 * DAY_MS);
    assert.equal(fired, 0);
  });
});
