/**
 * The addition band and the per-token bound, against independent computations: the band from
 * the per-layer means of a results file, the bound from every token of real tiny-model runs
 * (serial and parallel-residual blocks), where the triangle inequality must hold exactly.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure } from '../../src/commands/measure.js';
import { additionRows, additionSteps, detrendGrowth } from '../../src/figures/addition-band.js';
import { blockBoundFigure } from '../../src/figures/block-bound.js';
import { additionBandFigure } from '../../src/figures/addition-band.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { quantileSorted } from '../../src/analysis/norm-statistics.js';
import { readMeasurementFile } from '../../src/store/open-results.js';
import { readMeasured, subjectOf } from '../support/measured.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { fileOf } from '../support/measured.js';

describe('the addition band', () => {
  it('predicts resid_mid and resid_post from the means before each step, uncorrelated and aligned', () => {
    const document = syntheticMeasurement({ nLayers: 6, sequences: 4 });
    const { measurement } = fileOf(document);
    const rows = additionRows(measurement);
    assert.deepEqual(
      additionSteps(measurement).map((step) => step.after),
      ['resid_mid', 'resid_post'],
    );
    const mean = (hook: 'resid_pre' | 'attn_out' | 'resid_mid' | 'mlp_out' | 'resid_post', layer: number) => measurement.summary[hook]![layer]!.mean;
    for (const row of rows) {
      const [before, write, after] = row.step.startsWith('attention')
        ? (['resid_pre', 'attn_out', 'resid_mid'] as const)
        : (['resid_mid', 'mlp_out', 'resid_post'] as const);
      const [a, b] = [mean(before, row.layer), mean(write, row.layer)];
      assert.ok(Math.abs(row.uncorrelated - Math.hypot(a, b)) < 1e-12 * row.uncorrelated);
      assert.ok(Math.abs(row.aligned - (a + b)) < 1e-12 * row.aligned);
      assert.equal(row.measured, mean(after, row.layer));
    }
    assert.equal(rows.length, 2 * 6);
    // The synthetic growth is ×1.05 per layer: the detrending rate is close to it.
    assert.ok(Math.abs(detrendGrowth({ measurement, fits: {} }) - 1.05) < 0.01);
  });
});

describe('the per-token bound on real runs', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-bound-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const family of ['gpt2', 'gpt-neox'] as const) {
    it(`${family}: every token satisfies it, and the drawn quartiles are those of the tokens`, async () => {
      const model = join(dir, family);
      const tiny =
        family === 'gpt2'
          ? await writeTinyGpt2(model, { nLayers: 4, dModel: 32, nHeads: 4, nCtx: 64, tokenizer: 'gpt2', seed: 3 })
          : await writeTinyGptNeox(model, { nLayers: 4, seed: 3 });
      const outPath = join(dir, `${family}.json`);
      const prompts = join(dir, `${family}.jsonl`);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(
        prompts,
        Array.from({ length: 6 }, (_, p) => JSON.stringify({ ids: Array.from({ length: 5 + p }, (_, i) => 10 + ((7 * i + p) % 40)) })).join('\n'),
      );
      await measure(
        { model: tiny.dir, promptsPath: prompts, outPath, batchSize: 3, prependBos: false, exclusions: true, device: 'cpu', threads: 1, refresh: false },
        createSilentReporter(),
      );
      const file = await readMeasurementFile(outPath);
      const subject = await subjectOf(file);
      const view = subject.views!.bound!;
      assert.equal(view.violations, 0);
      const measured = await readMeasured(outPath);
      const { nLayers } = measured.model;
      for (let layer = 0; layer < nLayers; layer += 1) {
        const shares: number[] = [];
        for (const sequence of measured.sequences) {
          for (let position = 1; position < sequence.ids.length; position += 1) {
            const at = (hook: 'resid_pre' | 'attn_out' | 'mlp_out' | 'resid_post') => sequence.norms[hook]![layer]![position]!;
            const share = (at('attn_out') + at('mlp_out')) / at('resid_pre');
            assert.ok(at('resid_post') / at('resid_pre') - 1 <= share * (1 + 1e-5), `layer ${layer} position ${position}`);
            shares.push(share);
          }
        }
        const sorted = Float64Array.from(shares).sort();
        const summary = view.written[layer]!;
        assert.equal(summary.count, shares.length);
        assert.ok(Math.abs(summary.median - quantileSorted(sorted, 0.5)) < 1e-12 * summary.median, `layer ${layer} median`);
      }
      const outcome = blockBoundFigure.build(subject, DEFAULT_FIGURE_OPTIONS);
      assert.ok(outcome.drawn);
      assert.match(JSON.stringify(outcome.spec), /the bound holds for all \d+ token-layers/);
      const band = additionBandFigure.build(subject, DEFAULT_FIGURE_OPTIONS);
      assert.ok(band.drawn);
      assert.equal(additionSteps(file.measurement).length, family === 'gpt2' ? 2 : 1);
    });
  }
});
