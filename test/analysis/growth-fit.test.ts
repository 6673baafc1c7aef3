import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitGrowth } from '../../src/analysis/growth-fit.js';
import { fitLine } from '../../src/analysis/least-squares.js';
import { InputError, UsageError } from '../../src/errors.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

function expectError(run: () => unknown, type: typeof UsageError | typeof InputError, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'message must be one line');
    return true;
  });
}

describe('fitGrowth: least squares', () => {
  it('equals an ordinary least-squares line through ln(summary mean) per layer', () => {
    const measurement = syntheticMeasurement({ nLayers: 10, sequences: 6, hooks: ['resid_pre', 'resid_post'] });
    const fit = fitGrowth(measurement, { hook: 'resid_post', fromLayer: 2, toLayer: 8 });
    const summary = measurement.summary.resid_post!.slice(2, 9);
    const reference = fitLine(summary.map((s) => s.layer), summary.map((s) => Math.log(s.mean)));
    assert.ok(Math.abs(fit.growth - Math.exp(reference.slope)) < 1e-12);
    assert.ok(Math.abs(fit.intercept - reference.intercept) < 1e-10);
    assert.ok(Math.abs(fit.r2 - reference.r2) < 1e-12);
    assert.deepEqual([fit.fromLayer, fit.toLayer, fit.values.length], [2, 8, 7]);
    assert.deepEqual([fit.model, fit.hook, fit.metric, fit.stat], ['synthetic/gpt2-like', 'resid_post', 'centered', 'mean']);
    assert.equal(fit.sequences, 6);
    assert.equal(fit.tokensPerLayer, 6 * 9); // BOS excluded
  });

  it('recovers a known rate inside its regression interval', () => {
    const measurement = syntheticMeasurement({ nLayers: 24, sequences: 30, phases: [{ fromLayer: 0, growth: 1.045 }], seed: 7 });
    const fit = fitGrowth(measurement, { hook: 'resid_pre' });
    assert.ok(fit.regression.ciLow < 1.045 && 1.045 < fit.regression.ciHigh, `${fit.regression.ciLow}..${fit.regression.ciHigh}`);
    assert.ok(Math.abs(fit.growth - 1.045) < 0.003, `growth ${fit.growth}`);
    assert.ok(fit.r2 > 0.99);
  });

  it('uses the median and the raw metric when asked', () => {
    const measurement = syntheticMeasurement({ nLayers: 6, sequences: 4 });
    const fit = fitGrowth(measurement, { hook: 'mlp_out', stat: 'median', metric: 'raw' });
    const reference = fitLine([0, 1, 2, 3, 4, 5], measurement.summary.mlp_out!.map((s) => Math.log(s.median * 1.01)));
    assert.ok(Math.abs(Math.log(fit.growth) - reference.slope) < 1e-12);
    assert.ok(Math.abs(fit.intercept - reference.intercept) < 1e-10);
    assert.equal(fit.metric, 'raw');
  });
});

describe('fitGrowth: errors', () => {
  const measurement = syntheticMeasurement({ nLayers: 12, sequences: 2, hooks: ['resid_pre', 'resid_post'] });

  it('refuses a hook that is not in the file and lists those present', () =>
    expectError(() => fitGrowth(measurement, { hook: 'attn_out' }), UsageError, /no hook "attn_out"; hooks present: resid_pre, resid_post/));

  it('refuses a range outside the model and says the valid one', () =>
    expectError(() => fitGrowth(measurement, { hook: 'resid_pre', fromLayer: 5, toLayer: 12 }), UsageError, /5:12 .*valid: 0:11 \(12 layers\)/));

  it('refuses fewer than three layers', () =>
    expectError(() => fitGrowth(measurement, { hook: 'resid_pre', fromLayer: 4, toLayer: 5 }), UsageError, /2 layers; .*at least 3/));

  it('refuses a reversed range', () =>
    expectError(() => fitGrowth(measurement, { hook: 'resid_pre', fromLayer: 6, toLayer: 4 }), UsageError, /at least 3/));

  it('refuses non-positive norms and names the layer', () => {
    const zeroed = syntheticMeasurement({ nLayers: 5, sequences: 2, hooks: ['attn_out'] });
    for (const sequence of zeroed.sequences) sequence.norms.attn_out![3] = sequence.norms.attn_out![3]!.map(() => 0);
    expectError(() => fitGrowth(zeroed, { hook: 'attn_out' }), InputError, /not positive at layer 3 \(value 0\)/);
  });
});
