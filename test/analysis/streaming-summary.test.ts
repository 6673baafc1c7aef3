import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeValues } from '../../src/analysis/norm-statistics.js';
import { EXACT_LIMIT, StreamingSummary } from '../../src/analysis/streaming-summary.js';
import { createRandom } from '../support/random.js';

/** Lognormal norms around `scale`, as float32 like the graph's. */
function norms(count: number, seed: number, scale = 5): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: count }, () => scale * Math.exp(0.4 * random.normal()));
}

function summarize(values: Float32Array) {
  const summary = new StreamingSummary();
  for (const value of values) summary.add(value);
  return summary;
}

describe('StreamingSummary', () => {
  it('equals the exact in-memory summary while it holds every value', () => {
    const values = norms(EXACT_LIMIT, 1);
    const streamed = summarize(values);
    assert.ok(streamed.isExact);
    const exact = summarizeValues(3, values);
    const got = streamed.summarize(3);
    for (const key of ['count', 'median', 'q05', 'q25', 'q75', 'q95', 'min', 'max'] as const) assert.equal(got[key], exact[key], key);
    for (const key of ['mean', 'std'] as const) assert.ok(Math.abs(got[key] - exact[key]) <= 1e-12 * exact[key], `${key}: ${got[key]} vs ${exact[key]}`);
  });

  it('past the exact limit: mean and std stay exact to rounding, quantiles within 1e-3 relative of the exact ones (10⁶ values)', () => {
    const values = norms(1_000_000, 2);
    const streamed = summarize(values);
    assert.equal(streamed.isExact, false);
    const exact = summarizeValues(0, values);
    const got = streamed.summarize(0);
    assert.equal(got.count, exact.count);
    assert.equal(got.min, exact.min);
    assert.equal(got.max, exact.max);
    for (const key of ['mean', 'std'] as const) assert.ok(Math.abs(got[key] - exact[key]) <= 1e-9 * exact[key], `${key}: ${got[key]} vs ${exact[key]}`);
    let worst = 0;
    for (const key of ['median', 'q05', 'q25', 'q75', 'q95'] as const) worst = Math.max(worst, Math.abs(got[key] - exact[key]) / exact[key]);
    assert.ok(worst <= 1e-3, `worst relative quantile error ${worst}`);
    // The sketch's own guarantee is tighter; a regression to a coarse sketch fails here.
    assert.ok(worst <= 5e-4, `worst relative quantile error ${worst}`);
  });

  it('keeps a wide range (six decades) and zeros', () => {
    const random = createRandom(3);
    const values = Float32Array.from({ length: 50_000 }, (_, i) => (i % 100 === 0 ? 0 : Math.fround(10 ** (6 * random.uniform() - 3))));
    const exact = summarizeValues(0, values);
    const got = summarize(values).summarize(0);
    for (const key of ['median', 'q05', 'q25', 'q75', 'q95'] as const)
      assert.ok(Math.abs(got[key] - exact[key]) <= 1e-3 * exact[key], `${key}: ${got[key]} vs ${exact[key]}`);
    assert.equal(got.min, 0);
  });

  it('says NaN, not 0, when nothing was added', () => {
    const empty = new StreamingSummary().summarize(0);
    assert.equal(empty.count, 0);
    assert.ok(Number.isNaN(empty.mean) && Number.isNaN(empty.median));
  });

  // Values spread over any range never crash the summary (the old sketch overflowed the call
  // stack on a wide range), zeros and negatives are kept, and non-finite values are left out
  // and counted; quantiles stay within the sketch's accuracy wherever fewer than 2^16 buckets
  // hold the data.
  const extremes: Array<{ name: string; value: (i: number, random: ReturnType<typeof createRandom>) => number; accurate: boolean }> = [
    { name: 'one float32 max (3.4e38) among norms of 5', value: (i, random) => (i === 20_000 ? 3.4e38 : 5 * Math.exp(0.3 * random.normal())), accurate: true },
    { name: 'a tiny value (1e-38) among norms of 5', value: (i, random) => (i === 20_001 ? 1e-38 : 5 * Math.exp(0.3 * random.normal())), accurate: true },
    { name: 'values over the whole float32 range', value: (_, random) => Math.fround(10 ** (76 * random.uniform() - 38)), accurate: false },
    { name: 'a median of 0 (a sparse model): zeros and a few huge ratios', value: (i) => (i % 3 === 0 ? 1e30 * (1 + (i % 7)) : 0), accurate: true },
    // Signed values near zero: quantiles between a negative and a positive value have no relative accuracy to keep.
    {
      name: 'cosines: negative and positive, near zero too',
      value: (_, random) => Math.fround(2 * random.uniform() - 1) * 10 ** (-6 * random.uniform()),
      accurate: false,
    },
  ];
  for (const { name, value, accurate } of extremes) {
    it(`summarizes ${name} past the exact limit without crashing`, () => {
      const random = createRandom(11);
      const values = Float64Array.from({ length: 40_000 }, (_, i) => value(i, random));
      const summary = new StreamingSummary();
      for (const each of values) summary.add(each);
      summary.add(Number.NaN);
      summary.add(Number.POSITIVE_INFINITY);
      const got = summary.summarize(0);
      assert.equal(got.count, values.length, 'non-finite values left out');
      assert.equal(summary.nonFinite, 2);
      const exact = summarizeValues(0, values);
      for (const key of ['median', 'q05', 'q25', 'q75', 'q95'] as const) {
        assert.ok(Number.isFinite(got[key]), `${key} is ${got[key]}`);
        if (accurate) assert.ok(Math.abs(got[key] - exact[key]) <= 1e-3 * Math.abs(exact[key]), `${key}: ${got[key]} vs ${exact[key]}`);
      }
      assert.equal(got.max, exact.max);
    });
  }
});
