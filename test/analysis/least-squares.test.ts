import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrefixSums, fitLine } from '../../src/analysis/least-squares.js';

// Anscombe's quartet, set I: published OLS results (R's lm): slope 0.50009, intercept 3.00009,
// R² 0.66654, standard error of the slope 0.1179.
const anscombeX = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
const anscombeY = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68];

describe('fitLine', () => {
  it("reproduces the published fit of Anscombe's first data set", () => {
    const line = fitLine(anscombeX, anscombeY);
    assert.equal(line.n, 11);
    assert.ok(Math.abs(line.slope - 0.500091) < 1e-6, `slope ${line.slope}`);
    assert.ok(Math.abs(line.intercept - 3.000091) < 1e-6, `intercept ${line.intercept}`);
    assert.ok(Math.abs(line.r2 - 0.666542) < 1e-6, `r2 ${line.r2}`);
    assert.ok(Math.abs(line.slopeStdError - 0.1179) < 1e-4, `se ${line.slopeStdError}`);
  });

  it('fits an exact line exactly, far from the origin', () => {
    const xs = [1000, 1001, 1002, 1003, 1004];
    const line = fitLine(
      xs,
      xs.map((x) => 7 - 0.25 * x),
    );
    assert.ok(Math.abs(line.slope + 0.25) < 1e-12);
    assert.ok(Math.abs(line.intercept - 7) < 1e-9);
    assert.ok(line.rss < 1e-20);
    assert.equal(line.r2, 1);
    assert.equal(line.slopeStdError, 0);
  });

  it('refuses fewer than two points or a single x value', () => {
    assert.throws(() => fitLine([1], [2]), RangeError);
    assert.throws(() => fitLine([1, 1, 1], [2, 3, 4]), RangeError);
  });
});

describe('PrefixSums', () => {
  it('gives every run of points the same line as fitting that run alone', () => {
    const sums = new PrefixSums(anscombeX, anscombeY);
    for (let start = 0; start < anscombeX.length - 2; start += 1) {
      for (let end = start + 3; end <= anscombeX.length; end += 1) {
        const alone = fitLine(anscombeX.slice(start, end), anscombeY.slice(start, end));
        const fromSums = sums.fit(start, end);
        assert.ok(Math.abs(fromSums.slope - alone.slope) < 1e-9);
        assert.ok(Math.abs(fromSums.intercept - alone.intercept) < 1e-9);
        assert.ok(Math.abs(sums.rss(start, end) - alone.rss) < 1e-9);
      }
    }
  });
});
