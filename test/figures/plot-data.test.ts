/**
 * The aggregations figures draw, checked against brute-force recomputation from the raw
 * per-token norms of the tiny fixture and of a larger synthetic file.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { growthRatios } from '../../src/figures/growth-ratio.js';
import { histogramRows } from '../../src/figures/histograms.js';
import { niceBinWidth } from '../../src/figure-inputs/token-views.js';
import { subjectOf } from '../support/measured.js';
import { everyNthLayer } from '../../src/figures/plot-data.js';
import { positionMeans } from '../../src/figures/positions.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { readTinyMeasurement } from './plot-fixtures.js';

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= 1e-5 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);

describe('histogram bins', () => {
  it('chooses 1-2-2.5-5 bin widths', () => {
    assert.deepEqual([0.0123, 0.02, 0.021, 0.3, 7].map(niceBinWidth), [0.02, 0.02, 0.025, 0.5, 10]);
  });

  it('counts every value once, in percent per layer, on edges shared by all layers', async () => {
    const measurement = syntheticMeasurement({ nLayers: 3, sequences: 20, tokensPerSequence: 30, seed: 3 });
    const byLayer = new Map([0, 1, 2].map((layer) => [layer, measurement.sequences.flatMap((s) => s.norms.resid_pre![layer]!.slice(1)).map(Math.log10)]));
    // Binned as the figure bins them: gathered from the file's tokens in two streamed passes.
    const { rows, binWidth } = histogramRows((await subjectOf(measurement)).views!.histogram!);
    const edges = rows.map((row) => row.log10Norm);
    const origin = Math.min(...edges);
    for (const edge of edges) close(Math.round((edge - origin) / binWidth), (edge - origin) / binWidth, 'edge on the shared grid');
    for (const [layer, values] of byLayer) {
      const own = rows.filter((row) => row.layer === layer);
      close(
        own.reduce((sum, row) => sum + row.percent, 0),
        100,
        `layer ${layer} percentages`,
      );
      for (const row of own.filter((r) => r.percent > 0)) {
        const inBin = values.filter((v) => v >= row.log10Norm - 1e-9 && v < row.log10Norm + binWidth - 1e-9).length;
        close(row.percent, (100 * inBin) / values.length, `layer ${layer} bin ${row.log10Norm}`);
      }
      assert.equal(own[0]!.percent, 0, 'starts on the baseline');
      assert.equal(own.at(-1)!.percent, 0, 'ends on the baseline');
    }
  });

  it('draws every 5th layer of a 48-layer model and about 10 of smaller ones', () => {
    assert.deepEqual(everyNthLayer(48), [5, 10, 15, 20, 25, 30, 35, 40, 45], "the reference analysis's layers");
    assert.deepEqual(everyNthLayer(12), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(everyNthLayer(6), [0, 1, 2, 3, 4, 5]);
  });
});

describe('growthRatios', () => {
  it('gives the median over tokens of ‖x_l‖/‖x_{l−1}‖ and keeps BOS apart', async () => {
    const measurement = await readTinyMeasurement();
    const subject = await subjectOf(measurement, {}, { hook: 'resid_pre', prompt: 0 });
    const { tokens, special } = growthRatios(subject.measurement, subject.views!.ratios!);
    assert.equal(tokens.length, 5);
    for (const row of tokens) {
      const ratios = measurement.sequences
        .flatMap((s) => s.norms.resid_pre![row.layer]!.map((norm, position) => (position === 0 ? NaN : norm / s.norms.resid_pre![row.layer - 1]![position]!)))
        .filter((ratio) => !Number.isNaN(ratio))
        .sort((a, b) => a - b);
      assert.equal(ratios.length, 10); // 4 + 4 + 2 tokens after BOS
      close(row.median, (ratios[4]! + ratios[5]!) / 2, `layer ${row.layer} median`);
      assert.ok(row.q05 <= row.q25 && row.q25 <= row.median && row.median <= row.q75 && row.q75 <= row.q95);
      const bos = measurement.sequences.map((s) => s.norms.resid_pre![row.layer]![0]! / s.norms.resid_pre![row.layer - 1]![0]!).sort((a, b) => a - b);
      close(special.find((entry) => entry.layer === row.layer)!.median, bos[1]!, `layer ${row.layer} BOS median`);
    }
  });
});

describe('positionMeans', () => {
  it('averages each position over the prompts that reach it', async () => {
    const measurement = await readTinyMeasurement();
    const subject = await subjectOf(measurement, {}, { hook: 'resid_post', prompt: 0 });
    const { rows, special, groupSize } = positionMeans(subject.measurement, subject.views!.positions!);
    assert.equal(groupSize, 1);
    const table = (s: number) => measurement.sequences[s]!.norms.resid_post!;
    // Positions 1 and 2 exist in all three prompts, 3 and 4 only in the first two.
    close(rows.find((r) => r.layer === 4 && r.position === 2)!.norm, (table(0)[4]![2]! + table(1)[4]![2]! + table(2)[4]![2]!) / 3, 'position 2');
    close(rows.find((r) => r.layer === 4 && r.position === 4)!.norm, (table(0)[4]![4]! + table(1)[4]![4]!) / 2, 'position 4');
    assert.equal(rows.length, 4 * 6);
    assert.deepEqual([...new Set(special.map((r) => r.label))], ['position 0']);
    close(special.find((r) => r.layer === 0)!.norm, (table(0)[0]![0]! + table(1)[0]![0]! + table(2)[0]![0]!) / 3, 'BOS');
  });

  it('groups long contexts into at most maxLines runs of consecutive positions', async () => {
    const measurement = syntheticMeasurement({ nLayers: 2, sequences: 2, tokensPerSequence: 21, seed: 5 });
    const subject = await subjectOf(measurement);
    const { rows, groupSize } = positionMeans(subject.measurement, subject.views!.positions!, 6);
    assert.equal(groupSize, 4); // 20 positions after BOS → 5 lines of 4
    assert.deepEqual([...new Set(rows.map((r) => r.position))], [1, 5, 9, 13, 17]);
    const values = measurement.sequences.flatMap((s) => s.norms.resid_pre![1]!.slice(5, 9));
    close(rows.find((r) => r.layer === 1 && r.position === 5)!.norm, values.reduce((a, b) => a + b) / values.length, 'group 5–8');
  });
});
