import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { InputError } from '../../src/errors.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { loadFigurePlan } from '../../src/figure-inputs/plot-inputs.js';
import { analyzeWeights } from '../../src/commands/weights.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { renderSvg } from '../../src/rendering/render.js';
import { staticSpec } from '../../src/figures/interaction.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const DIAGNOSTIC_FIGURES = ['cosines', 'massive-dims', 'massive-growth', 'massive-profile', 'sinks', 'head-writes', 'lens'];

describe('diagnostic figures', () => {
  let dir: string;
  let base: MeasureRequest;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-diagnostic-figures-'));
    const tiny = await writeTinyGpt2(join(dir, 'model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 64 });
    const promptsPath = join(dir, 'prompts.txt');
    await writeFile(promptsPath, Array.from({ length: 6 }, (_, i) => `prompt ${i} ${'words '.repeat(i + 1)}`).join('\n'));
    base = { model: tiny.dir, promptsPath, batchSize: 4, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false };
    await measure(
      {
        ...base,
        outPath: join(dir, 'diag.json'),
        diagnostics: ['cosines', 'massive', 'massive-median', 'massive-sequence', 'sinks', 'heads', 'lens'],
        massiveDims: [3],
      },
      createSilentReporter(),
    );
    await measure({ ...base, outPath: join(dir, 'plain.json') }, createSilentReporter());
    await analyzeWeights({ model: tiny.dir, outPath: join(dir, 'w.json'), refresh: false }, createSilentReporter());
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('are drawn by default from a file with diagnostics, and render to SVG without warnings', async () => {
    const { plan } = await loadFigurePlan(
      { files: [join(dir, 'diag.json'), join(dir, 'w.json')], figureOptions: DEFAULT_FIGURE_OPTIONS },
      { fitHooks: ['resid_pre'], fitWeights: false },
      createSilentReporter(),
    );
    for (const name of DIAGNOSTIC_FIGURES) {
      const planned = plan.find((entry) => entry.figure === name);
      assert.ok(planned, `${name} is planned by default`);
      assert.ok(planned.outcome.drawn, `${name}: ${planned.outcome.drawn ? '' : planned.outcome.reason}`);
      const { svg, warnings } = await renderSvg(staticSpec(planned.outcome.spec), name);
      assert.deepEqual(warnings, [], `${name} renders without vega warnings`);
      assert.match(svg, /^<svg/);
    }
  });

  it('refuse a diagnostics block they cannot read, naming the problem, instead of drawing nothing', async () => {
    const document = JSON.parse(await readFile(join(dir, 'diag.json'), 'utf8')) as { diagnostics: { summaries: { included: number } } };
    document.diagnostics.summaries.included = -1;
    await writeFile(join(dir, 'bad.json'), JSON.stringify(document));
    for (const table of ['tokens', 'prompts'] as const) await copyFile(tablePaths(join(dir, 'diag.json'))[table], tablePaths(join(dir, 'bad.json'))[table]);
    await assert.rejects(
      loadFigurePlan({ files: [join(dir, 'bad.json')], figureOptions: DEFAULT_FIGURE_OPTIONS }, { fitHooks: [], fitWeights: false }, createSilentReporter()),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /has a diagnostics block this resid-norms cannot read \(diagnostics\.summaries\.included: /);
        return true;
      },
    );
  });

  it('read a file written before --sink-tokens and the folded head writes: position 0 alone, value biases in z, and the head-writes figure says so', async () => {
    const document = JSON.parse(await readFile(join(dir, 'diag.json'), 'utf8')) as {
      diagnostics: Record<string, unknown> & { columns: string[]; summaries: { perHeadMeans: Record<string, unknown>; perHeadTokens?: unknown } };
    };
    const { diagnostics } = document;
    delete diagnostics.sinkTokens;
    delete diagnostics.headValueBiases;
    diagnostics.columns = diagnostics.columns.filter((column) => column !== 'sink_mass_first_4');
    delete diagnostics.summaries.perHeadMeans.sink_mass_first_4;
    delete diagnostics.summaries.perHeadTokens;
    await writeFile(join(dir, 'older.json'), JSON.stringify(document));
    for (const table of ['tokens', 'prompts'] as const) await copyFile(tablePaths(join(dir, 'diag.json'))[table], tablePaths(join(dir, 'older.json'))[table]);
    const { plan } = await loadFigurePlan(
      { files: [join(dir, 'older.json'), join(dir, 'w.json')], figureOptions: DEFAULT_FIGURE_OPTIONS },
      { fitHooks: [], fitWeights: false },
      createSilentReporter(),
    );
    const spec = (name: string) => {
      const outcome = plan.find((entry) => entry.figure === name)!.outcome;
      assert.ok(outcome.drawn, name);
      return JSON.stringify(outcome.spec);
    };
    assert.match(spec('head-writes'), /value biases kept in z/);
    assert.doesNotMatch(spec('sinks'), /first 4/);
    assert.match(spec('sinks'), /attention on position 0 per layer and head/);
    const current = loadFigurePlan(
      { files: [join(dir, 'diag.json'), join(dir, 'w.json')], figureOptions: DEFAULT_FIGURE_OPTIONS },
      { fitHooks: [], fitWeights: false },
      createSilentReporter(),
    );
    const drawn = (await current).plan.find((entry) => entry.figure === 'head-writes')!.outcome;
    assert.ok(drawn.drawn && /value biases folded into b_O/.test(JSON.stringify(drawn.spec)));
  });

  it('are left out by default without diagnostics, and say why when asked for', async () => {
    const reporter = createSilentReporter();
    const { plan } = await loadFigurePlan(
      { files: [join(dir, 'plain.json')], figureOptions: DEFAULT_FIGURE_OPTIONS },
      { fitHooks: [], fitWeights: false },
      reporter,
    );
    assert.deepEqual(
      plan.filter((entry) => DIAGNOSTIC_FIGURES.includes(entry.figure)),
      [],
    );
    const asked = await loadFigurePlan(
      { files: [join(dir, 'plain.json')], figures: ['cosines', 'sinks', 'lens'], figureOptions: DEFAULT_FIGURE_OPTIONS },
      { fitHooks: [], fitWeights: false },
      reporter,
    );
    for (const { figure, outcome } of asked.plan) {
      assert.ok(!outcome.drawn);
      assert.match(outcome.reason, new RegExp(`measured without diagnostics; rerun measure with --diagnostics ${figure}`));
    }
  });
});
