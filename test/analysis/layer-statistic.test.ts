import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLayerPool, evaluateLayerStatistic } from '../../src/analysis/layer-statistic.js';
import { layerValues, quantileSorted } from '../../src/analysis/norm-statistics.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

const close = (a: number, b: number, tolerance = 1e-12): boolean => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

describe('evaluateLayerStatistic', () => {
  const measurement = syntheticMeasurement({ nLayers: 4, sequences: 5, tokensPerSequence: 6, hooks: ['resid_post'] });

  it('with unit weights equals the mean and median of the results summary', () => {
    for (let layer = 0; layer < 4; layer += 1) {
      const pool = buildLayerPool(measurement.sequences, 'resid_post', 'centered', layer, [0]);
      const summary = measurement.summary.resid_post![layer]!;
      assert.ok(close(evaluateLayerStatistic(pool, 'mean'), summary.mean));
      assert.ok(close(evaluateLayerStatistic(pool, 'median'), summary.median));
    }
  });

  it('with weights equals the statistic of the sequences repeated that often', () => {
    const weights = Float64Array.from([0, 3, 1, 0, 2]);
    const repeated = [1, 1, 1, 2, 4, 4].map((s) => measurement.sequences[s]!);
    for (const metric of ['centered', 'raw'] as const) {
      const pool = buildLayerPool(measurement.sequences, 'resid_post', metric, 2, [0]);
      const values = layerValues(repeated, 'resid_post', metric, 2, [0]);
      const sorted = Float64Array.from(values).sort();
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      assert.ok(close(evaluateLayerStatistic(pool, 'mean', weights), mean));
      assert.ok(close(evaluateLayerStatistic(pool, 'median', weights), quantileSorted(sorted, 0.5)));
    }
  });

  it('takes the median of an odd count as the middle value', () => {
    const weights = Float64Array.from([1, 0, 0, 0, 0]); // 5 non-BOS tokens
    const pool = buildLayerPool(measurement.sequences, 'resid_post', 'raw', 1, [0]);
    const row = measurement.sequences[0]!.rawNorms.resid_post![1]!.slice(1).sort((a, b) => a - b);
    assert.equal(evaluateLayerStatistic(pool, 'median', weights), row[2]);
  });

  it('is NaN when every position is excluded', () => {
    const pool = buildLayerPool(measurement.sequences, 'resid_post', 'centered', 0, [0, 1, 2, 3, 4, 5]);
    assert.ok(Number.isNaN(evaluateLayerStatistic(pool, 'mean')));
    assert.ok(Number.isNaN(evaluateLayerStatistic(pool, 'median')));
  });
});
