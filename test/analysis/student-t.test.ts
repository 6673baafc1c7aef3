import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { studentTCritical } from '../../src/analysis/student-t.js';

describe('studentTCritical', () => {
  it('matches published two-sided 95% critical values of the t distribution', () => {
    // Values from standard tables (R: qt(0.975, dof)).
    const table: Array<[number, number]> = [
      [1, 12.7062047362],
      [2, 4.3026527297],
      [5, 2.5705818366],
      [10, 2.228138852],
      [30, 2.0422724563],
      [1000, 1.9623390808],
    ];
    for (const [dof, expected] of table) {
      const actual = studentTCritical(0.95, dof);
      assert.ok(Math.abs(actual - expected) < 1e-6 * expected, `dof ${dof}: ${actual} vs ${expected}`);
    }
  });

  it('matches the 99% value for 20 degrees of freedom', () => {
    assert.ok(Math.abs(studentTCritical(0.99, 20) - 2.8453397098) < 1e-6);
  });

  it('refuses a confidence outside (0, 1) and non-positive degrees of freedom', () => {
    assert.throws(() => studentTCritical(1, 5), RangeError);
    assert.throws(() => studentTCritical(0.95, 0), RangeError);
  });
});
