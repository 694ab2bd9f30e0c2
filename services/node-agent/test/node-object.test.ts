import assert from 'node:assert/strict';
import { microTime, stampConditions } from '../src/node-object.ts';

describe('node conditions', () => {
  it('keep their transition time while the status stays the same and take now when it changes', () => {
    const before = '2026-01-01T00:00:00Z';
    const now = '2026-01-01T00:01:00Z';
    const conditions = stampConditions([
      { type: 'Ready', status: 'True', lastTransitionTime: before },
      { type: 'MemoryPressure', status: 'True', lastTransitionTime: before },
    ], now);
    assert.equal(conditions.find((c) => c.type === 'Ready')!.lastTransitionTime, before);
    assert.equal(conditions.find((c) => c.type === 'MemoryPressure')!.lastTransitionTime, now);
    assert.ok(conditions.every((c) => c.lastHeartbeatTime === now));
  });

  it('format lease times as MicroTime with six fractional digits', () => {
    assert.equal(microTime(new Date('2026-11-23T11:33:31.123Z')), '2026-11-23T11:33:31.123000Z');
  });
});
