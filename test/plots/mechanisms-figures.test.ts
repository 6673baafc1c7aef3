/** The three mechanisms figures draw what the file holds: every series per layer, ±2 standard-error bands, zeros left out and said. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIGURES } from '../../src/plots/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS, type FigureOutcome, type MechanismsSubject } from '../../src/plots/figure-types.js';
import { tinyMechanismsSubject } from './plot-fixtures.js';

interface Row {
  layer: number;
  value: number;
  low?: number;
  high?: number;
  series: string;
}

function rowsOf(outcome: FigureOutcome): Row[] {
  assert.ok(outcome.drawn, outcome.drawn ? '' : outcome.reason);
  return (outcome.spec as unknown as { data: { values: Row[] } }).data.values;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.abs(b);

describe('mechanisms figures', () => {
  it('mlp-random: mlp_out, random input and both resamples, per layer, with bands of ±2 standard errors', async () => {
    const subject = await tinyMechanismsSubject();
    const rows = rowsOf(FIGURES['mlp-random'].build(subject, DEFAULT_FIGURE_OPTIONS));
    const series = (name: string) => rows.filter((row) => row.series === name);
    assert.deepEqual([...new Set(rows.map((row) => row.series))], ['mlp_out (real prompts)', 'random input', 'resampled, same layer', 'resampled, random layer']);
    subject.mechanisms.layers.forEach((layer) => {
      assert.ok(close(series('mlp_out (real prompts)')[layer.layer]!.value, layer.measured.mlp_out));
      const random = series('random input')[layer.layer]!;
      assert.ok(close(random.value, layer.random.mlp_out.mean));
      assert.ok(close(random.high!, layer.random.mlp_out.mean + 2 * layer.random.mlp_out.stderr));
      assert.ok(close(series('resampled, random layer')[layer.layer]!.value, layer.randomLayer.mlp_out.mean));
    });
  });

  it('attn-random and activation-rate draw their series; a zero is left out and said; all zeros are not drawn', async () => {
    const subject = await tinyMechanismsSubject();
    const attention = rowsOf(FIGURES['attn-random'].build(subject, DEFAULT_FIGURE_OPTIONS));
    assert.deepEqual([...new Set(attention.map((row) => row.series))], ['attn_out (real prompts)', 'Σ_h W_OV^h x, random x']);
    assert.ok(close(attention.find((row) => row.series === 'Σ_h W_OV^h x, random x' && row.layer === 2)!.value, subject.mechanisms.layers[2]!.random.ov.mean));
    const rates = rowsOf(FIGURES['activation-rate'].build(subject, DEFAULT_FIGURE_OPTIONS));
    assert.equal(rates.length, 4 * subject.mechanisms.layers.length);

    const zeroed: MechanismsSubject = structuredClone(subject);
    zeroed.mechanisms.layers[1]!.measured.activationRate = 0;
    const outcome = FIGURES['activation-rate'].build(zeroed, DEFAULT_FIGURE_OPTIONS);
    assert.equal(rowsOf(outcome).length, 4 * subject.mechanisms.layers.length - 1);
    assert.ok(outcome.drawn && /1 value\(s\) of 0 are not drawn/.test(outcome.note ?? ''));
    for (const layer of zeroed.mechanisms.layers) layer.measured.attn_out = layer.random.ov.mean = 0;
    const none = FIGURES['attn-random'].build(zeroed, DEFAULT_FIGURE_OPTIONS);
    assert.ok(!none.drawn && /every value is 0/.test(none.reason));
  });
});
