/** `plot` with weights files among its inputs (figure 9, `weights`). */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fitWeightGrowth } from '../../src/analysis/weight-growth-fit.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { runPlot, type PlotRequest } from '../../src/commands/plot.js';
import { InputError } from '../../src/errors.js';
import { FIGURE_NAMES as ALL_FIGURE_NAMES, FIGURES } from '../../src/figures/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { FIT_FORMAT, FIT_VERSION, type FitFile } from '../../src/results/fit-schema.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import { TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH, readTinyMeasurement } from '../figures/plot-fixtures.js';

/** The figures of norms and weights (the diagnostic figures, which need `measure --diagnostics`, have their own tests). */
const FIGURE_NAMES = ALL_FIGURE_NAMES.filter((name) => FIGURES[name].diagnostic === undefined);

describe('runPlot with weights files', () => {
  let root: string;
  let otherWeights: string;
  let otherMeasurement: string;
  const request = (overrides: Partial<PlotRequest>): PlotRequest => ({
    files: [TINY_WEIGHTS_PATH],
    outDir: join(root, 'out'),
    figures: [...FIGURE_NAMES],
    formats: ['svg'],
    figureOptions: DEFAULT_FIGURE_OPTIONS,
    ...overrides,
  });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-plot-weights-'));
    const weights = await readWeightsFile(TINY_WEIGHTS_PATH);
    weights.model.id = 'acme/other';
    otherWeights = join(root, 'other.weights.json');
    await writeFile(otherWeights, JSON.stringify(weights));
    const measurement = await readTinyMeasurement();
    measurement.model.id = 'acme/other';
    otherMeasurement = join(root, 'other.json');
    await writeFile(otherMeasurement, JSON.stringify(measurement));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('draws the weights figure from a weights file alone and names, on one line, the figures that need a results file', async () => {
    const outDir = join(root, 'alone');
    const reporter = createSilentReporter();
    const summary = await runPlot(request({ outDir }), reporter);
    assert.deepEqual(await readdir(outDir), ['weights.svg']);
    assert.deepEqual(
      summary.skipped.map((entry) => entry.stem),
      FIGURE_NAMES.filter((name) => name !== 'weights'),
    );
    assert.deepEqual(reporter.warnings, [
      'histograms, tokens, growth, ratio, positions, resid-mid, block-outputs, addition, bound, compare not drawn: no results file of `resid-norms measure` was given (only weights files)',
      'mlp-random, attn-random, activation-rate not drawn: no mechanisms file was given; write one with `resid-norms mechanisms --model <model>` and pass it with the results files',
    ]);
    assert.ok(
      reporter.messages.some((message) => message.includes('weights only: give a results file of tiny-gpt2')),
      reporter.messages.join('\n'),
    );
    const svg = await readFile(join(outDir, 'weights.svg'), 'utf8');
    assert.ok(svg.includes('‖W_OV‖_F ×'), 'the fitted rate of W_OV in the legend');
    assert.ok(!svg.includes('attn_out‖₂ ×'));
  });

  it('pairs each weights file with the results file of its model: one figure per model, every other figure from the results files', async () => {
    const outDir = join(root, 'two-models');
    const files = [TINY_WEIGHTS_PATH, otherMeasurement, TINY_MEASUREMENT_PATH, otherWeights];
    await runPlot(request({ outDir, files, figures: ['growth', 'weights'] }), createSilentReporter());
    assert.deepEqual((await readdir(outDir)).sort(), ['acme-other-growth.svg', 'acme-other-weights.svg', 'tiny-gpt2-growth.svg', 'tiny-gpt2-weights.svg']);
    for (const name of ['acme-other-weights.svg', 'tiny-gpt2-weights.svg']) {
      const svg = await readFile(join(outDir, name), 'utf8');
      assert.ok(svg.includes('mean ‖attn_out‖₂ ×') && svg.includes('mean ‖mlp_out‖₂ ×'), `${name}: block outputs of the paired results file`);
    }
    assert.match(await readFile(join(outDir, 'acme-other-weights.svg'), 'utf8'), /acme\/other — weights that write/);
  });

  it('says the weights figure needs a weights file, and draws the others', async () => {
    const reporter = createSilentReporter();
    const summary = await runPlot(request({ outDir: join(root, 'no-weights'), files: [TINY_MEASUREMENT_PATH], figures: ['growth', 'weights'] }), reporter);
    assert.deepEqual(summary.skipped, [
      { stem: 'weights', reason: 'no weights file was given; write one with `resid-norms weights --model <model>` and pass it with the results files' },
    ]);
    assert.equal(summary.written.length, 1);
  });

  it('draws the raw variant with --variant raw', async () => {
    const outDir = join(root, 'raw');
    await runPlot(request({ outDir, figures: ['weights'], figureOptions: { ...DEFAULT_FIGURE_OPTIONS, variant: 'raw' } }), createSilentReporter());
    assert.match(await readFile(join(outDir, 'weights.svg'), 'utf8'), /raw weights, as stored in the checkpoint/);
  });

  it('takes weight rates from a fit file', async () => {
    const weights = await readWeightsFile(TINY_WEIGHTS_PATH);
    const fit = fitWeightGrowth(weights, { series: 'W_OV' });
    const document: FitFile = {
      format: FIT_FORMAT,
      version: FIT_VERSION,
      createdBy: { tool: 'resid-norms', version: 'test' },
      fits: [],
      weightFits: [{ ...fit, growth: 1.2222, source: TINY_WEIGHTS_PATH }],
    };
    const fitFile = join(root, 'fit.json');
    await writeFile(fitFile, JSON.stringify(document));
    const outDir = join(root, 'from-fit-file');
    const reporter = createSilentReporter();
    await runPlot(request({ outDir, figures: ['weights'], fitFile }), reporter);
    const svg = await readFile(join(outDir, 'weights.svg'), 'utf8');
    assert.ok(svg.includes('‖W_OV‖_F ×1.2222'), 'the fit file’s growth');
    assert.ok(svg.includes('‖W_out‖_F (no fit)'));
    assert.ok(
      reporter.warnings.some((warning) => /the fit file has no processed fit of b_O, W_in, W_out, b_out, W_inW_out, b_inW_out for tiny-gpt2/.test(warning)),
    );
  });

  it('refuses a results file of the same model id but another shape, naming both files', async () => {
    const measurement = await readTinyMeasurement();
    measurement.model.dModel = 64;
    const wrong = join(root, 'wrong.json');
    await writeFile(wrong, JSON.stringify(measurement));
    await assert.rejects(
      runPlot(request({ outDir: join(root, 'wrong'), files: [TINY_WEIGHTS_PATH, wrong], figures: ['growth'] }), createSilentReporter()),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(
          error.message,
          /tiny-gpt2\.weights\.json" and ".*wrong\.json": the weights \(tiny-gpt2: dModel 32\) and the measurement \(tiny-gpt2: dModel 64\) are not of the same model; give files of one model$/,
        );
        return true;
      },
    );
    await assert.rejects(readdir(join(root, 'wrong')), /ENOENT/);
  });
});
