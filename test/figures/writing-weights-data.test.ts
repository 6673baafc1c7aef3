import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { writingWeightsData } from '../../src/figures/writing-weights-data.js';
import { fileOf } from '../support/measured.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { syntheticWeights } from '../support/synthetic-weights.js';

describe('figure 9 data: writing weights next to attn_out and mlp_out', () => {
  const weights = syntheticWeights({
    nLayers: 6,
    nHeads: 4,
    values: { processed: { W_OV: (l) => 2 + l, W_out: (l) => 10 * 1.1 ** l, b_O: () => null }, raw: { W_OV: () => 99 } },
    headOv: (l, h) => l + h / 10,
  });
  weights.model.dModel = 64;

  it('has one row per layer of each writing weight, one per head of W_OV, and says what is missing', () => {
    const data = writingWeightsData(weights);
    const rows = (quantity: string) => data.rows.filter((row) => row.quantity === quantity);
    assert.equal(data.variant, 'processed');
    assert.deepEqual(
      rows('W_OV').map((row) => [row.panel, row.kind, row.layer, row.value]),
      [0, 1, 2, 3, 4, 5].map((l) => ['attention', 'weight', l, 2 + l]),
    );
    assert.deepEqual(
      rows('W_out').map((row) => row.value),
      [0, 1, 2, 3, 4, 5].map((l) => 10 * 1.1 ** l),
    );
    assert.equal(rows('W_out')[0]!.panel, 'mlp');
    assert.deepEqual(
      rows('b_out').map((row) => row.kind),
      new Array(6).fill('bias'),
    );
    const heads = rows('W_OV head');
    assert.equal(heads.length, 6 * 4);
    assert.deepEqual(heads.find((row) => row.layer === 4 && row.head === 2)!.value, 4.2);
    assert.deepEqual(rows('b_O'), []);
    assert.deepEqual(data.notes, [
      'synthetic has no b_O (no such tensor), so it is not drawn',
      'synthetic has no W_inW_out (the weights file predates it), so it is not drawn',
      'synthetic has no b_inW_out (the weights file predates it), so it is not drawn',
    ]);
    assert.equal(data.metric, undefined);
    assert.deepEqual(
      writingWeightsData(weights, undefined, 'raw')
        .rows.filter((row) => row.quantity === 'W_OV')
        .map((row) => row.value),
      new Array(6).fill(99),
    );
  });

  it('adds the mean attn_out and mlp_out norms of a measurement of the same model', () => {
    const measurement = syntheticMeasurement({ nLayers: 6, sequences: 3, hooks: ['resid_pre', 'attn_out'] });
    const data = writingWeightsData(weights, fileOf(measurement).measurement);
    assert.equal(data.metric, measurement.options.primaryMetric);
    const attn = data.rows.filter((row) => row.quantity === 'attn_out');
    assert.deepEqual(
      attn.map((row) => [row.panel, row.kind, row.layer, row.value]),
      measurement.summary.attn_out!.map((s) => ['attention', 'activation', s.layer, s.mean]),
    );
    assert.ok(data.notes.includes('weights of synthetic shown with activations measured on synthetic/gpt2-like'));
    assert.ok(data.notes.some((note) => /has no mlp_out measurements \(measured: resid_pre, attn_out\)/.test(note)));
  });

  it('refuses a measurement of another model', () => {
    const other = syntheticMeasurement({ nLayers: 7, hooks: ['attn_out'] });
    assert.throws(
      () => writingWeightsData(weights, fileOf(other).measurement),
      (error: Error) =>
        error instanceof InputError &&
        /^the weights \(synthetic: nLayers 6\) and the measurement \(synthetic\/gpt2-like: nLayers 7\) are not of the same model; give files of one model$/.test(
          error.message,
        ),
    );
  });
});
