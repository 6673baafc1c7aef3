import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitV1 as fitGrowth } from '../support/measured.js';
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
    const reference = fitLine(
      summary.map((s) => s.layer),
      summary.map((s) => Math.log(s.mean)),
    );
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
    const reference = fitLine(
      [0, 1, 2, 3, 4, 5],
      measurement.summary.mlp_out!.map((s) => Math.log(s.median * 1.01)),
    );
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

  it('refuses a reversed range', () => expectError(() => fitGrowth(measurement, { hook: 'resid_pre', fromLayer: 6, toLayer: 4 }), UsageError, /at least 3/));

  it('refuses non-positive norms and names the layer', () => {
    const zeroed = syntheticMeasurement({ nLayers: 5, sequences: 2, hooks: ['attn_out'] });
    for (const sequence of zeroed.sequences) sequence.norms.attn_out![3] = sequence.norms.attn_out![3]!.map(() => 0);
    expectError(() => fitGrowth(zeroed, { hook: 'attn_out' }), InputError, /not positive at layer 3 \(value 0\)/);
  });
});

/**
 * Two-sided acceptance region of the number of covering intervals among `trials` independent
 * trials when the true coverage is `p`: the central region holding ≥ 1 − alpha of Binomial(trials, p).
 * Computed from the binomial pmf, independent of anything under test.
 */
function binomialRegion(trials: number, p: number, alpha: number): [number, number] {
  const pmf: number[] = [];
  let logChoose = 0;
  for (let k = 0; k <= trials; k += 1) {
    if (k > 0) logChoose += Math.log(trials - k + 1) - Math.log(k);
    pmf.push(Math.exp(logChoose + k * Math.log(p) + (trials - k) * Math.log(1 - p)));
  }
  let low = 0;
  for (let tail = 0; tail + pmf[low]! <= alpha / 2; low += 1) tail += pmf[low]!;
  let high = trials;
  for (let tail = 0; tail + pmf[high]! <= alpha / 2; high -= 1) tail += pmf[high]!;
  return [low, high];
}

describe('fitGrowth: interval coverage over 200 seeded synthetic data sets', () => {
  // 200 trials at a true coverage of 95%: accept counts in the central 99.9% of Binomial(200, 0.95).
  const trials = 200;
  const [low, high] = binomialRegion(trials, 0.95, 0.001);

  function coverage(sequenceWalk: number): { regression: number; bootstrap: number } {
    // With a per-prompt random walk of ln(norm), E[norm] grows by growth·exp(σ²/2) per layer.
    const truth = 1.05 * Math.exp((sequenceWalk * sequenceWalk) / 2);
    let regression = 0;
    let bootstrap = 0;
    for (let trial = 0; trial < trials; trial += 1) {
      const measurement = syntheticMeasurement({
        nLayers: 12,
        sequences: 30,
        tokensPerSequence: 6,
        hooks: ['resid_post'],
        sequenceWalk,
        seed: 1 + trial,
      });
      const fit = fitGrowth(measurement, { hook: 'resid_post', bootstrap: 500, seed: trial + 1, maxSegments: 1 });
      if (fit.regression.ciLow <= truth && truth <= fit.regression.ciHigh) regression += 1;
      if (fit.bootstrap!.ciLow <= truth && truth <= fit.bootstrap!.ciHigh) bootstrap += 1;
    }
    return { regression, bootstrap };
  }

  it('has an acceptance region of about 180..198', () => {
    assert.ok(low >= 178 && low <= 182 && high >= 196 && high <= 200, `${low}..${high}`);
  });

  it('independent noise per layer: both intervals cover the true rate about 95% of the time', (t) => {
    const { regression, bootstrap } = coverage(0);
    t.diagnostic(`regression ${regression}/${trials}, bootstrap ${bootstrap}/${trials}, accepted ${low}..${high}`);
    assert.ok(low <= regression && regression <= high, `regression covered ${regression}/${trials}`);
    assert.ok(low <= bootstrap && bootstrap <= high, `bootstrap covered ${bootstrap}/${trials}`);
  });

  it('prompts that grow at their own pace: the bootstrap still covers about 95%, the regression interval does not', (t) => {
    const { regression, bootstrap } = coverage(0.02);
    t.diagnostic(`regression ${regression}/${trials}, bootstrap ${bootstrap}/${trials}, accepted ${low}..${high}`);
    assert.ok(low <= bootstrap && bootstrap <= high, `bootstrap covered ${bootstrap}/${trials}`);
    assert.ok(regression < low, `regression covered ${regression}/${trials}; expected it to be too narrow here`);
  });
});

describe('fitGrowth: bootstrap and phases', () => {
  const measurement = syntheticMeasurement({ nLayers: 16, sequences: 12, hooks: ['resid_post'], sequenceWalk: 0.01, seed: 9 });

  it('makes the bootstrap interval the headline one, reproducibly for a seed', () => {
    const a = fitGrowth(measurement, { hook: 'resid_post', bootstrap: 200, seed: 5 });
    const b = fitGrowth(measurement, { hook: 'resid_post', bootstrap: 200, seed: 5 });
    const c = fitGrowth(measurement, { hook: 'resid_post', bootstrap: 200, seed: 6 });
    assert.equal(a.ciMethod, 'bootstrap');
    assert.deepEqual([a.ciLow, a.ciHigh], [a.bootstrap!.ciLow, a.bootstrap!.ciHigh]);
    assert.deepEqual(a, b);
    assert.notEqual(a.ciLow, c.ciLow);
    assert.ok(a.ciLow < a.growth && a.growth < a.ciHigh);
    assert.deepEqual([a.bootstrap!.samples, a.bootstrap!.seed, a.bootstrap!.method], [200, 5, 'percentile']);
    assert.ok(a.phases.every((phase) => phase.ciMethod === 'bootstrap' && phase.ciLow < phase.growth && phase.growth < phase.ciHigh));
  });

  it('falls back to the regression interval without a bootstrap', () => {
    const fit = fitGrowth(measurement, { hook: 'resid_post', bootstrap: 0 });
    assert.equal(fit.bootstrap, null);
    assert.equal(fit.ciMethod, 'regression');
    assert.deepEqual([fit.ciLow, fit.ciHigh], [fit.regression.ciLow, fit.regression.ciHigh]);
    assert.equal(fit.regression.dof, 14);
    const single = syntheticMeasurement({ nLayers: 6, sequences: 1 });
    assert.equal(fitGrowth(single, { hook: 'resid_pre' }).bootstrap, null);
  });

  it('finds known phases and recovers the rate of each', () => {
    const truths = [1.3, 1.04, 1.1];
    for (const seed of [2, 3, 4]) {
      const phased = syntheticMeasurement({
        nLayers: 30,
        sequences: 20,
        hooks: ['resid_pre'],
        seed,
        phases: [
          { fromLayer: 0, growth: 1.3 },
          { fromLayer: 6, growth: 1.04 },
          { fromLayer: 22, growth: 1.1 },
        ],
      });
      const fit = fitGrowth(phased, { hook: 'resid_pre', bootstrap: 200 });
      const shown = fit.phases.map((p) => `${p.fromLayer}–${p.toLayer} ×${p.growth.toFixed(4)}`).join(' | ');
      assert.equal(fit.phases.length, 3, `seed ${seed}: ${shown}`);
      // Layers 5 and 21 are kinks on both neighbouring lines.
      assert.ok([5, 6].includes(fit.phases[1]!.fromLayer) && [21, 22].includes(fit.phases[2]!.fromLayer), `seed ${seed}: ${shown}`);
      fit.phases.forEach((phase, k) => {
        assert.equal(phase.fromLayer, k === 0 ? 0 : fit.phases[k - 1]!.toLayer + 1);
        assert.ok(Math.abs(phase.growth / truths[k]! - 1) < 0.005, `seed ${seed}: ${shown}`);
        assert.ok(phase.ciLow < phase.growth && phase.growth < phase.ciHigh && phase.r2 > 0.95);
      });
      assert.deepEqual([fit.phases[0]!.fromLayer, fit.phases[2]!.toLayer], [0, 29]);
      const forced = fitGrowth(phased, { hook: 'resid_pre', bootstrap: 0, segments: 2 });
      assert.equal(forced.phases.length, 2);
      assert.equal(forced.segmentation.forced, true);
    }
  });

  it('fits a file that has only a summary, from its primary metric', () => {
    const full = syntheticMeasurement({ nLayers: 8, sequences: 5, hooks: ['resid_pre'] });
    const summaryOnly = { ...full, sequences: [] };
    const fromSummary = fitGrowth(summaryOnly, { hook: 'resid_pre', bootstrap: 100 });
    const fromSequences = fitGrowth(full, { hook: 'resid_pre', bootstrap: 0 });
    assert.ok(Math.abs(fromSummary.growth - fromSequences.growth) < 1e-12);
    assert.equal(fromSummary.bootstrap, null);
    assert.deepEqual([fromSummary.sequences, fromSummary.tokensPerLayer], [5, 5 * 9]);
    expectError(() => fitGrowth(summaryOnly, { hook: 'resid_pre', metric: 'raw' }), InputError, /no per-sequence data.*--metric centered/);
  });
});

describe('fitGrowth: phase options', () => {
  const measurement = syntheticMeasurement({ nLayers: 12, sequences: 2, hooks: ['resid_pre'] });

  it('refuses more forced phases than fit', () =>
    expectError(
      () => fitGrowth(measurement, { hook: 'resid_pre', segments: 4 }),
      UsageError,
      /4 phases of at least 4 layers do not fit .* 12 fitted layers; give 1\.\.3/,
    ));

  it('refuses a minimum phase length below 3', () =>
    expectError(() => fitGrowth(measurement, { hook: 'resid_pre', minSegment: 2 }), UsageError, /minimum phase length 2/));

  it('fits a range shorter than one minimum phase as one phase', () => {
    const fit = fitGrowth(measurement, { hook: 'resid_pre', fromLayer: 0, toLayer: 2 });
    assert.deepEqual(
      fit.phases.map((p) => [p.fromLayer, p.toLayer]),
      [[0, 2]],
    );
  });
});
