import assert from 'node:assert/strict';
import { compareResourceVersions } from '../src/resource-version.ts';

describe('compareResourceVersions', () => {
  it('orders decimal resourceVersions numerically, whatever their length', () => {
    assert.ok(compareResourceVersions('9', '10')! < 0);
    assert.ok(compareResourceVersions('123457', '123456')! > 0);
    assert.equal(compareResourceVersions('42', '42'), 0);
    assert.ok(compareResourceVersions('99999999999999999999', '100000000000000000000')! < 0, 'beyond 2^53');
  });

  it('says "not comparable" for what is not a positive integer without leading zeros', () => {
    for (const bad of ['', '0', '012', 'abc', '12a', '-5', ' 1']) {
      assert.equal(compareResourceVersions(bad, '5'), undefined, JSON.stringify(bad));
      assert.equal(compareResourceVersions('5', bad), undefined, JSON.stringify(bad));
    }
  });
});
