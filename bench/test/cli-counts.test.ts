import assert from 'node:assert/strict';
import { badCounts } from '../cli-counts.ts';

describe('the benchmarks\' count flags', () => {
  it('names every flag with a value that is not a whole number above 0, and only those', () => {
    const bad = badCounts({ '--pods': [1000, 10_000], '--workers': [1, 0], '--rates': [20, Number.NaN], '--seconds': [1.5], '--streams': [200] });
    assert.deepEqual(bad.map((b) => b.split(':')[0]), ['--workers', '--rates', '--seconds']);
    assert.match(bad[0]!, /whole numbers above 0/);
  });
});
