/**
 * The estimators side by side (least squares and the reference's endpoints), the geometric
 * mean, the reference procedure's layer range, and the verdict on whether one exponential
 * describes a range — each against an independent computation from the per-token values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { referenceLayers } from '../../src/analysis/reference-procedure.js';
import { judgeShape } from '../../src/analysis/fit-shape.js';
import { InputError } from '../../src/errors.js';
import type { MeasurementV1 } from '../../src/results/schema.js';
import { fitV1 } from '../support/measured.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

/** Per-layer statistic straight from the inline tokens, position 0 left out. */
function layerStatistic(measurement: MeasurementV1, layer: number, stat: 'mean' | 'geomean'): number {
  const values = measurement.sequences.flatMap((sequence) => sequence.norms.resid_pre![layer]!.slice(1));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return stat === 'mean' ? mean(values) : Math.exp(mean(values.map(Math.log)));
}

describe('fit estimators', () => {
  const measurement = syntheticMeasurement({
    nLayers: 16,
    sequences: 20,
    phases: [
      { fromLayer: 0, growth: 1.3 },
      { fromLayer: 6, growth: 1.05 },
    ],
    seed: 3,
    tokenNoise: 0.2,
  });

  it('endpoints: (m_b / m_a)^(1/(b − a)) of the mean, with a bootstrap interval around it; both methods always reported', () => {
    const fit = fitV1(measurement, { hook: 'resid_pre', fromLayer: 3, toLayer: 12, method: 'endpoints', bootstrap: 300 });
    const expected = (layerStatistic(measurement, 12, 'mean') / layerStatistic(measurement, 3, 'mean')) ** (1 / 9);
    assert.ok(Math.abs(fit.growth - expected) < 1e-12 * expected, `${fit.growth} vs ${expected}`);
    assert.equal(fit.method, 'endpoints');
    assert.deepEqual(fit.methods!.endpoints.growth, fit.growth);
    assert.equal(fit.ciMethod, 'bootstrap');
    assert.ok(fit.ciLow < fit.growth && fit.growth < fit.ciHigh, `${fit.ciLow} < ${fit.growth} < ${fit.ciHigh}`);
    const ols = fitV1(measurement, { hook: 'resid_pre', fromLayer: 3, toLayer: 12, bootstrap: 300 });
    assert.equal(ols.methods!.ols.growth, ols.growth);
    assert.equal(ols.methods!.endpoints.growth, fit.growth, 'the same endpoints estimate whichever method heads the fit');
    assert.notEqual(ols.growth, fit.growth);
  });

  it('endpoints without a bootstrap has no interval and says so', () => {
    const fit = fitV1(measurement, { hook: 'resid_pre', method: 'endpoints', bootstrap: 0 });
    assert.deepEqual([fit.ciMethod, fit.ciLow, fit.ciHigh], ['none', fit.growth, fit.growth]);
  });

  it('geomean needs per-token data: a file with only a summary is refused in one line', () => {
    const summaryOnly = { ...measurement, sequences: [] };
    assert.throws(
      () => fitV1(summaryOnly, { hook: 'resid_pre', stat: 'geomean' }),
      (error: unknown) =>
        error instanceof InputError && /has no per-sequence data, only a summary: fit with --stat mean or median, or measure again$/.test(error.message),
    );
  });

  it('geomean: exp of the mean ln norm per layer', () => {
    const fit = fitV1(measurement, { hook: 'resid_pre', stat: 'geomean', bootstrap: 0 });
    fit.values.forEach((value, layer) => {
      const expected = layerStatistic(measurement, layer, 'geomean');
      assert.ok(Math.abs(value - expected) < 1e-12 * expected, `layer ${layer}: ${value} vs ${expected}`);
    });
  });

  it('the bootstrap of the endpoints covers the true rate of a single exponential about 95% of the time', () => {
    let covered = 0;
    const runs = 60;
    for (let seed = 1; seed <= runs; seed += 1) {
      const data = syntheticMeasurement({
        nLayers: 10,
        sequences: 30,
        phases: [{ fromLayer: 0, growth: 1.045 }],
        seed,
        tokenNoise: 0.3,
        sequenceNoise: 0.1,
        sequenceWalk: 0.02,
      });
      const fit = fitV1(data, { hook: 'resid_pre', method: 'endpoints', bootstrap: 200, seed });
      if (fit.ciLow <= 1.045 && 1.045 <= fit.ciHigh) covered += 1;
    }
    // Binomial(60, 0.95): 51 or more in 99.3% of sets of runs; a broken interval covers far less.
    assert.ok(covered >= 51, `covered ${covered} of ${runs}`);
  });
});

describe('the reference procedure', () => {
  it("scales GPT2-XL's layers 5:41 of 48 to other depths", () => {
    assert.deepEqual(referenceLayers(48), { fromLayer: 5, toLayer: 41 });
    assert.deepEqual(referenceLayers(12), { fromLayer: 1, toLayer: 10 });
    assert.deepEqual(referenceLayers(24), { fromLayer: 3, toLayer: 21 }); // 2.5 rounds up, 20.5 rounds up
    assert.deepEqual(referenceLayers(3), { fromLayer: 0, toLayer: 2 });
  });
});

describe('one exponential or not', () => {
  it('a clean single exponential is one', () => {
    const data = syntheticMeasurement({ nLayers: 24, sequences: 30, phases: [{ fromLayer: 0, growth: 1.045 }], seed: 5 });
    const fit = fitV1(data, { hook: 'resid_pre', bootstrap: 200 });
    assert.equal(fit.shape!.oneExponential, true, fit.shape!.reason);
  });

  it('two clean regimes are not, even at a high R²: the phases have disjoint intervals', () => {
    const data = syntheticMeasurement({
      nLayers: 24,
      sequences: 30,
      phases: [
        { fromLayer: 0, growth: 1.08 },
        { fromLayer: 12, growth: 1.03 },
      ],
      seed: 5,
    });
    const fit = fitV1(data, { hook: 'resid_pre', bootstrap: 200 });
    assert.ok(fit.r2 > 0.95, `R² ${fit.r2}`);
    assert.equal(fit.shape!.oneExponential, false);
    assert.match(fit.shape!.reason, /2 phases with different rates \(disjoint 95% intervals\): 0–1[01] ×1\.0[78]\d/);
  });

  it('a jump at the first layer (low R²) is not, and the reason names the step', () => {
    const values = [1, 3.5, 3.8, 4.1, 4.4, 4.8, 5.1, 5.5];
    const layers = values.map((_, layer) => layer);
    const phase = { fromLayer: 0, toLayer: 7, growth: 1.27, intercept: 0, r2: 0.69, ciLow: 1.26, ciHigh: 1.28, ciMethod: 'bootstrap' as const };
    const shape = judgeShape({ phases: [phase], r2: 0.69, growth: 1.27 }, layers, values);
    assert.equal(shape.oneExponential, false);
    assert.match(shape.reason, /R² 0\.6900 < 0\.95\); largest departure: layer 0→1 ×3\.5000 against ×1\.2700 fitted/);
  });
});
