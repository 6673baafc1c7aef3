import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitWeightGrowth } from '../../src/analysis/weight-growth-fit.js';
import { presentSeries, weightSeries } from '../../src/analysis/weight-series.js';
import { InputError, UsageError } from '../../src/errors.js';
import { WeightGrowthFitSchema } from '../../src/results/fit-schema.js';
import { createRandom } from '../support/random.js';
import { syntheticWeights } from '../support/synthetic-weights.js';

/** Least squares of ln(value) on layer, by the textbook formula. */
function referenceGrowth(layers: number[], values: number[]): number {
  const y = values.map(Math.log);
  const mx = layers.reduce((a, b) => a + b, 0) / layers.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  const sxy = layers.reduce((a, x, i) => a + (x - mx) * (y[i]! - my), 0);
  const sxx = layers.reduce((a, x) => a + (x - mx) ** 2, 0);
  return Math.exp(sxy / sxx);
}

describe('growth fits of weight series', () => {
  it('recovers an exact exponential, in the chosen variant and layer range', () => {
    const file = syntheticWeights({ nLayers: 12, values: { processed: { W_OV: (l) => 2 * 1.1 ** l }, raw: { W_OV: (l) => 3 * 0.9 ** l } } });
    const fit = fitWeightGrowth(file, { series: 'W_OV', fromLayer: 2, toLayer: 9 });
    assert.equal(fit.variant, 'processed', "the file's primary variant by default");
    assert.deepEqual([fit.fromLayer, fit.toLayer, fit.values.length], [2, 9, 8]);
    assert.ok(Math.abs(fit.growth - 1.1) < 1e-12, `growth ${fit.growth}`);
    assert.ok(Math.abs(fit.intercept - Math.log(2)) < 1e-12);
    assert.equal(fit.bootstrap, null);
    assert.equal(fit.ciMethod, 'regression');
    assert.ok(Math.abs(fitWeightGrowth(file, { series: 'W_OV', variant: 'raw' }).growth - 0.9) < 1e-12);
  });

  it('agrees with the textbook least-squares slope on noisy values, and finds two phases', () => {
    const random = createRandom(4);
    const noisy = Array.from({ length: 20 }, (_, l) => 5 * 1.04 ** l * Math.exp(0.02 * random.normal()));
    const file = syntheticWeights({
      nLayers: 20,
      values: { processed: { W_out: (l) => noisy[l]!, b_out: (l) => (l < 10 ? 1.3 ** l : 1.3 ** 9 * 1.01 ** (l - 9)) } },
    });
    const fit = fitWeightGrowth(file, { series: 'W_out' });
    const layers = Array.from({ length: 20 }, (_, l) => l);
    assert.ok(Math.abs(fit.growth - referenceGrowth(layers, noisy)) < 1e-12);
    assert.ok(fit.ciLow < fit.growth && fit.growth < fit.ciHigh);
    WeightGrowthFitSchema.parse(fit);
    const phases = fitWeightGrowth(file, { series: 'b_out' }).phases;
    assert.deepEqual(
      phases.map((p) => [p.fromLayer, p.toLayer]),
      [
        [0, 9],
        [10, 19],
      ],
    );
    assert.ok(Math.abs(phases[0]!.growth - 1.3) < 1e-9 && Math.abs(phases[1]!.growth - 1.01) < 1e-9);
  });

  it('refuses series a file does not have, and values a log cannot take', () => {
    const dense = syntheticWeights({ values: { raw: { b_O: () => null }, processed: { b_O: () => null } } });
    assert.throws(
      () => fitWeightGrowth(dense, { series: 'ln1.w' }),
      (e: Error) => e instanceof UsageError && /ln1\.w is folded into the weights that read the norm in processed weights; use --variant raw/.test(e.message),
    );
    assert.ok(fitWeightGrowth(dense, { series: 'ln1.w', variant: 'raw' }).growth > 0);
    assert.throws(
      () => fitWeightGrowth(dense, { series: 'W_gate' }),
      (e: Error) =>
        e instanceof UsageError &&
        /has no processed W_gate \(synthetic has a dense MLP\); series present: W_Q, W_K, W_V, W_O, W_OV, W_in, W_out, b_in, b_out$/.test(e.message),
    );
    assert.throws(
      () => fitWeightGrowth(dense, { series: 'b_O', label: 'x.json' }),
      (e: Error) => e instanceof UsageError && /^x\.json has no processed b_O \(synthetic has no such tensor\)/.test(e.message),
    );
    const zero = syntheticWeights({ values: { processed: { b_out: (l) => (l === 3 ? 0 : 1) } } });
    assert.throws(
      () => fitWeightGrowth(zero, { series: 'b_out' }),
      (e: Error) => e instanceof InputError && /processed b_out is not positive at layer 3/.test(e.message),
    );
    assert.throws(
      () => fitWeightGrowth(zero, { series: 'W_OV', fromLayer: 6 }),
      (e: Error) => e instanceof UsageError && /layers 6:7 give 2 layers; a growth fit needs at least 3/.test(e.message),
    );
  });

  it('lists the series present per variant', () => {
    const gated = syntheticWeights({ mlp: 'gated' });
    assert.ok(presentSeries(gated, 'processed').includes('W_gate'));
    assert.ok(!presentSeries(gated, 'processed').includes('b_gate'), 'null in every layer');
    assert.ok(presentSeries(gated, 'raw').includes('ln2.w_mean'));
    assert.deepEqual(weightSeries(gated, 'W_gate'), new Array(8).fill(1));
  });
});
