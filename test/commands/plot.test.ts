import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { runPlot, type PlotRequest } from '../../src/commands/plot.js';
import { InputError, UsageError } from '../../src/errors.js';
import { fitV1 } from '../support/measured.js';
import { FIGURE_NAMES as ALL_FIGURE_NAMES, FIGURES } from '../../src/figures/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { FIT_FORMAT, FIT_VERSION, type FitFile } from '../../src/results/fit-schema.js';
import { TINY_MEASUREMENT_PATH, TINY_MECHANISMS_PATH, TINY_WEIGHTS_PATH, readTinyMeasurement, toParallelResidual } from '../figures/plot-fixtures.js';

/** The figures of norms and weights (the diagnostic figures, which need `measure --diagnostics`, have their own tests). */
const FIGURE_NAMES = ALL_FIGURE_NAMES.filter((name) => FIGURES[name].diagnostic === undefined);

describe('runPlot', () => {
  let root: string;
  let parallel: string;
  const request = (overrides: Partial<PlotRequest>): PlotRequest => ({
    files: [TINY_MEASUREMENT_PATH],
    outDir: join(root, 'out'),
    figures: [...FIGURE_NAMES],
    formats: ['svg'],
    figureOptions: DEFAULT_FIGURE_OPTIONS,
    ...overrides,
  });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-plot-'));
    parallel = join(root, 'parallel.json');
    await writeFile(parallel, JSON.stringify(toParallelResidual(await readTinyMeasurement())));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('writes one SVG per figure, and the same bytes on a second run', async () => {
    const outDir = join(root, 'twice');
    const reporter = createSilentReporter();
    const summary = await runPlot(request({ outDir, files: [TINY_WEIGHTS_PATH, TINY_MEASUREMENT_PATH, TINY_MECHANISMS_PATH] }), reporter);
    assert.deepEqual((await readdir(outDir)).sort(), FIGURE_NAMES.map((name) => `${name}.svg`).sort());
    assert.equal(summary.written.length, FIGURE_NAMES.length);
    const first = await Promise.all(FIGURE_NAMES.map((name) => readFile(join(outDir, `${name}.svg`), 'utf8')));
    await runPlot(request({ outDir, files: [TINY_WEIGHTS_PATH, TINY_MEASUREMENT_PATH, TINY_MECHANISMS_PATH] }), createSilentReporter());
    const second = await Promise.all(FIGURE_NAMES.map((name) => readFile(join(outDir, `${name}.svg`), 'utf8')));
    assert.deepEqual(second, first);
    assert.ok(
      reporter.messages.some((message) => /compare: one model only/.test(message)),
      reporter.messages.join('\n'),
    );
  });

  it('writes PNG too with --format svg,png, and names files by model when there are several', async () => {
    const outDir = join(root, 'png');
    const summary = await runPlot(
      request({ outDir, files: [TINY_MEASUREMENT_PATH, parallel], figures: ['growth', 'resid-mid', 'compare'], formats: ['svg', 'png'] }),
      createSilentReporter(),
    );
    assert.deepEqual((await readdir(outDir)).sort(), [
      'compare.png',
      'compare.svg',
      'tiny-gpt2-growth.png',
      'tiny-gpt2-growth.svg',
      'tiny-gpt2-resid-mid.png',
      'tiny-gpt2-resid-mid.svg',
      'tiny-pythia-growth.png',
      'tiny-pythia-growth.svg',
    ]);
    assert.deepEqual(
      summary.skipped.map((entry) => entry.stem),
      ['tiny-pythia-resid-mid'],
    );
    const png = await readFile(join(outDir, 'compare.png'));
    assert.equal(png.toString('latin1', 1, 4), 'PNG');
  });

  it('draws fits from a fit file instead of fitting', async () => {
    const measurement = await readTinyMeasurement();
    const fit = fitV1(measurement, { hook: 'resid_post', bootstrap: 0 });
    const phase = { ...fit.phases[0]!, growth: 1.2222 };
    const document: FitFile = {
      format: FIT_FORMAT,
      version: FIT_VERSION,
      createdBy: { tool: 'resid-norms', version: 'test' },
      fits: [{ ...fit, phases: [phase], source: TINY_MEASUREMENT_PATH }],
    };
    const fitFile = join(root, 'fit.json');
    await writeFile(fitFile, JSON.stringify(document));
    const outDir = join(root, 'from-fit-file');
    await runPlot(request({ outDir, figures: ['growth'], fitFile }), createSilentReporter());
    assert.ok((await readFile(join(outDir, 'growth.svg'), 'utf8')).includes('×1.2222 per layer'), 'the fit file’s growth is drawn');
  });

  it('refuses --prompt beyond the prompts of a file, naming the valid range', async () => {
    await assert.rejects(runPlot(request({ figureOptions: { ...DEFAULT_FIGURE_OPTIONS, prompt: 3 } }), createSilentReporter()), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /--prompt 3 is out of range .* 3 prompts; valid: 0–2/);
      return true;
    });
  });

  it('fails when nothing can be drawn, saying why', async () => {
    await assert.rejects(
      runPlot(request({ files: [parallel], figures: ['resid-mid'], outDir: join(root, 'nothing') }), createSilentReporter()),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /^nothing to draw: tiny-pythia is a parallel-residual model .* no resid_mid; choose other figures with --figures$/);
        return true;
      },
    );
    await assert.rejects(readdir(join(root, 'nothing')), /ENOENT/);
  });
});
