import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseLogAxis } from '../../src/figures/log-axis.js';

describe('chooseLogAxis', () => {
  const ranges: Array<[number, number]> = [
    [8.9, 3000],
    [10, 100],
    [12, 80],
    [0.5, 60],
    [9.4, 31],
    [0.95, 1.3],
    [1.02, 1.08],
    [3000, 3100],
    [0.3, 1.1],
    [1e-4, 5e3],
    [7, 7],
  ];

  it('covers the data, ticks inside the domain, at least three ticks', () => {
    for (const [low, high] of ranges) {
      const { values, domain } = chooseLogAxis(low, high);
      assert.ok(domain[0] > 0 && domain[0] <= low && domain[1] >= high, `${low}–${high}: domain ${domain}`);
      assert.ok(values.length >= 3, `${low}–${high}: ticks ${values}`);
      assert.deepEqual(
        [...values].sort((a, b) => a - b),
        values,
      );
      for (const value of values) assert.ok(value >= domain[0] - 1e-12 && value <= domain[1] + 1e-12, `${low}–${high}: tick ${value} outside ${domain}`);
    }
  });

  it('uses powers of ten over many decades and 1-2-5 over one', () => {
    assert.deepEqual(chooseLogAxis(8.9, 3000).values, [10, 100, 1000]);
    assert.deepEqual(chooseLogAxis(10, 100).values, [10, 20, 50, 100]);
  });

  it('uses round linear steps on narrow ranges such as growth ratios', () => {
    assert.deepEqual(chooseLogAxis(0.95, 1.3), { values: [1, 1.1, 1.2, 1.3], domain: [0.95, 1.3] });
    assert.deepEqual(chooseLogAxis(1.02, 1.08).values, [1.02, 1.04, 1.06, 1.08]);
  });

  it('keeps the domain tight: less than one round step beyond the data', () => {
    const { domain } = chooseLogAxis(9.4, 31);
    assert.deepEqual(domain, [9, 31]);
  });
});
