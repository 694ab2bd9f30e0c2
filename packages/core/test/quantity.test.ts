import assert from 'node:assert/strict';
import { parseQuantity } from '../src/quantity.ts';

describe('parseQuantity', () => {
  it('reads decimal and binary suffixes, exponents and fractions as Kubernetes does', () => {
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('2'), 2);
    assert.equal(parseQuantity('64Mi'), 64 * 2 ** 20);
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(parseQuantity('1k'), 1000);
    assert.equal(parseQuantity('2e3'), 2000);
    assert.equal(parseQuantity('0'), 0);
  });

  it('answers undefined for what is not a quantity', () => {
    for (const bad of ['', 'abc', '1.5.5', '10 Mi', 'Mi', '1X']) assert.equal(parseQuantity(bad), undefined, bad);
  });
});
