import assert from 'node:assert/strict';
import { renewalTime, scheduleAt } from '../src/tls/renewal-time.ts';

describe('serving certificate renewal time', () => {
  it('falls between 70% and 90% of the lifetime', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-01-11T00:00:00Z');
    assert.equal(renewalTime(from, to, () => 0).toISOString(), '2026-01-08T00:00:00.000Z');
    assert.equal(renewalTime(from, to, () => 1).toISOString(), '2026-01-10T00:00:00.000Z');
  });

  it('fires at once for a time already past, and can be cancelled before a future one', () => {
    let fired = 0;
    scheduleAt(new Date(Date.now() - 1), () => { fired += 1; });
    assert.equal(fired, 1);
    // A year away: longer than setTimeout can wait in one go; must not throw or fire.
    const cancel = scheduleAt(new Date(Date.now() + 365 * 24 * 3600_000), () => { fired += 1; });
    cancel();
    assert.equal(fired, 1);
  });
});
