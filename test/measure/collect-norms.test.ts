import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactFloat32 } from '../../src/measure/collect-norms.js';
import { createRandom } from '../support/random.js';

describe('compactFloat32', () => {
  it('reads back as the exact float32, in at most 9 significant digits, over 12 decades and at the edges', () => {
    const random = createRandom(5);
    const values = [
      ...Array.from({ length: 200_000 }, () => Math.fround(Math.exp(random.uniform() * 28 - 14))),
      0, 1, 10, 1000, 0.001, 999.99994, 1e-12, 1e12, 3.4028235e38, 1.4e-45, Math.fround(0.1), Math.fround(2 / 3),
    ].map(Math.fround);
    for (const value of values) {
      const compact = compactFloat32(value);
      assert.equal(Math.fround(compact), value, `${value} → ${compact}`);
      const digits = compact.toExponential().split('e')[0]!.replace(/[-.]/g, '').replace(/0+$/, '');
      assert.ok(digits.length <= 9, `${value} → ${compact} has ${digits.length} digits`);
    }
  });
});
