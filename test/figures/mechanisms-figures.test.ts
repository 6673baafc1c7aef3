/** The three mechanisms figures draw what the file holds: every series per layer, ±2 standard-error bands, zeros left out and said. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIGURES } from '../../src/figures/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS, type FigureOutcome, type MechanismsSubject } from '../../src/figures/figure-types.js';
import { readMechanismsFile } from '../../src/results/read-mechanisms.js';
import { TINY_MECHANISMS_V1_PATH, tinyMechanismsSubject } from './plot-fixtures.js';

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
    assert.deepEqual(
      [...new Set(rows.map((row) => row.series))],
      ['mlp_out (real prompts)', 'random input', 'resampled, same layer', 'resampled, random layer'],
    );
    subject.mechanisms.layers.forEach((layer) => {
      const measured = series('mlp_out (real prompts)')[layer.layer]!;
      assert.ok(close(measured.value, layer.measured.mlp_out.mean));
      // Real prompts' bands: the prompts' cluster-robust error; random inputs': the independent samples'.
      assert.ok(close(measured.high!, layer.measured.mlp_out.mean + 2 * layer.measured.mlp_out.promptStderr!));
      const random = series('random input')[layer.layer]!;
      assert.ok(close(random.value, layer.random.mlp_out.mean));
      assert.ok(close(random.high!, layer.random.mlp_out.mean + 2 * layer.random.mlp_out.stderr!));
      const resampled = series('resampled, random layer')[layer.layer]!;
      assert.ok(close(resampled.value, layer.randomLayer.mlp_out.mean));
      assert.ok(close(resampled.high!, layer.randomLayer.mlp_out.mean + 2 * layer.randomLayer.mlp_out.promptStderr!));
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
    zeroed.mechanisms.layers[1]!.measured.activationRate.mean = 0;
    const outcome = FIGURES['activation-rate'].build(zeroed, DEFAULT_FIGURE_OPTIONS);
    assert.equal(rowsOf(outcome).length, 4 * subject.mechanisms.layers.length - 1);
    assert.ok(outcome.drawn && /1 value\(s\) of 0 are not drawn/.test(outcome.note ?? ''));
    for (const layer of zeroed.mechanisms.layers) layer.measured.attn_out.mean = layer.random.ov.mean = 0;
    const none = FIGURES['attn-random'].build(zeroed, DEFAULT_FIGURE_OPTIONS);
    assert.ok(!none.drawn && /every value is 0/.test(none.reason));
  });

  it('read a version-1 file: its measured means without an error (every token), its sampled ones with the error it computed, said in the subtitle', async () => {
    const older = await readMechanismsFile(TINY_MECHANISMS_V1_PATH);
    const current = (await tinyMechanismsSubject()).mechanisms;
    assert.equal(older.version, 2, 'upgraded in memory');
    assert.match(older.options.errors.tokens, /^version 1: .*independent, no finite-population correction/);
    older.layers.forEach((layer, index) => {
      assert.deepEqual(layer.measured.mlp_out, {
        mean: current.layers[index]!.measured.mlp_out.mean,
        stderr: 0,
        n: older.tokens.included,
        population: older.tokens.included,
        prompts: null,
        promptStderr: null,
      });
      assert.equal(layer.sameLayer.mlp_out.promptStderr, null);
      assert.ok(layer.sameLayer.mlp_out.stderr! > 0);
    });
    const outcome = FIGURES['mlp-random'].build({ path: 'older.json', mechanisms: older }, DEFAULT_FIGURE_OPTIONS);
    const rows = rowsOf(outcome);
    assert.ok(
      rows.filter((row) => row.series === 'mlp_out (real prompts)').every((row) => row.high === undefined),
      'no band where no error was computed',
    );
    assert.ok(outcome.drawn && /a version-1 file: tokens taken as independent/.test(JSON.stringify(outcome.spec.title)));
  });
});
