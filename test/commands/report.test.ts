import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/cli/reporter.js';
import { runReport } from '../../src/commands/report.js';
import { fitWeightGrowth } from '../../src/analysis/weight-growth-fit.js';
import { FIGURE_NAMES } from '../../src/plots/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/plots/figure-types.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import { TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH, readTinyMeasurement, toParallelResidual } from '../plots/plot-fixtures.js';

describe('runReport', () => {
  let root: string;
  let html: string;
  let markdown: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-report-'));
    const parallel = join(root, 'parallel.json');
    const odd = toParallelResidual(await readTinyMeasurement());
    odd.prompts.source = 'prompts/<odd> & "name".txt';
    await writeFile(parallel, JSON.stringify(odd));
    const outDir = join(root, 'report');
    // Prompt 1 of the fixture holds HTML and id="x", drawn in the tokens figure's subtitle.
    await runReport({ files: [TINY_MEASUREMENT_PATH, parallel], outDir, figures: [...FIGURE_NAMES], figureOptions: { ...DEFAULT_FIGURE_OPTIONS, prompt: 1 } }, createSilentReporter());
    html = await readFile(join(outDir, 'index.html'), 'utf8');
    markdown = await readFile(join(outDir, 'summary.md'), 'utf8');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('inlines every drawn figure and says which could not be drawn', () => {
    // 7 figures of the sequential model, 6 of the parallel one (no resid_mid), 1 comparison.
    assert.equal(html.match(/<svg /g)?.length, 14);
    assert.match(html, /Not drawn: tiny-pythia is a parallel-residual model/);
    assert.match(html, /<section id="figure-weights">[^]*Not drawn: no weights file was given/);
    assert.doesNotMatch(html, /Writing weights/, 'no weight fit table without weights files');
    assert.match(markdown, /### Figures not drawn\n\n- resid-mid \(tiny-pythia \(.*parallel\.json\)\): tiny-pythia is a parallel-residual model/);
  });

  it('makes no external requests: no scripts, links, images or imports', () => {
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|src=/i);
    assert.doesNotMatch(html, /(href|url\()\s*=?\s*["(]?\s*(https?:|\/\/)/i);
  });

  it('has the fit table, model and run metadata and the full prompt-set hash', async () => {
    const measurement = await readTinyMeasurement();
    assert.ok(html.includes(measurement.prompts.sha256));
    assert.ok(markdown.includes(measurement.prompts.sha256));
    // Five hooks fitted for the sequential model, four for the parallel one.
    assert.equal(markdown.split('\n').filter((line) => /^\| tiny-(gpt2|pythia) \| (resid|attn|mlp)/.test(line)).length, 9);
    assert.match(html, /<td>gpt_neox<\/td>/);
    assert.match(html, /<td>prompts\/tiny\.txt<\/td>/);
  });

  it('escapes text from the results file, in tables and in figures', () => {
    assert.ok(html.includes('<td>prompts/&lt;odd&gt; &amp; &quot;name&quot;.txt</td>'));
    assert.ok(html.includes('A &lt;b&gt;"quoted"&lt;/b&gt; &amp; id="x" prompt'), 'prompt text in the tokens figure');
    assert.doesNotMatch(html, /<b>|<odd>/);
    assert.ok(markdown.includes('prompts/&lt;odd&gt; & "name".txt'));
  });

  it('gives the same bytes for the same input', async () => {
    const outDir = join(root, 'again');
    const parallel = join(root, 'parallel.json');
    await runReport({ files: [TINY_MEASUREMENT_PATH, parallel], outDir, figures: [...FIGURE_NAMES], figureOptions: { ...DEFAULT_FIGURE_OPTIONS, prompt: 1 } }, createSilentReporter());
    assert.equal(await readFile(join(outDir, 'index.html'), 'utf8'), html);
  });
});

describe('runReport with a weights file', () => {
  let root: string;
  let html: string;
  let markdown: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-report-weights-'));
    const outDir = join(root, 'report');
    await runReport({ files: [TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH], outDir, figures: ['block-outputs', 'weights'], figureOptions: DEFAULT_FIGURE_OPTIONS }, createSilentReporter());
    html = await readFile(join(outDir, 'index.html'), 'utf8');
    markdown = await readFile(join(outDir, 'summary.md'), 'utf8');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('inlines figure 9 beside the others', () => {
    assert.equal(html.match(/<svg /g)?.length, 2);
    assert.match(html, /<section id="figure-weights">\n<h2>weights<\/h2>\n<p class="summary">writing weights per layer[^<]*<\/p>\n<h3>tiny-gpt2 \(.*tiny-gpt2\.weights\.json\)<\/h3>\n<figure/);
    assert.ok(html.includes('mean ‖attn_out‖₂ ×'), 'paired with the results file of the same model');
    assert.match(html, /<title>resid-norms report: tiny-gpt2<\/title>/, 'one model, named once');
  });

  it('has the growth of W_OV and W_out in a table next to the fit table, in the HTML and in summary.md', async () => {
    const weights = await readWeightsFile(TINY_WEIGHTS_PATH);
    const rows = markdown.split('\n').filter((line) => /^\| tiny-gpt2 \| W_(OV|out) \| processed \| 0–5 \| ×/.test(line));
    assert.equal(rows.length, 2, markdown);
    const expected = fitWeightGrowth(weights, { series: 'W_OV' }).growth.toFixed(4);
    assert.ok(rows[0]!.includes(`×${expected}`), rows[0]);
    assert.ok(markdown.indexOf('### Growth of the writing weights') > markdown.indexOf('### Growth fits'));
    assert.ok(markdown.indexOf('### Growth of the writing weights') < markdown.indexOf('### Models'));
    assert.match(html, /<h3>Writing weights<\/h3>[^]*<td>W_OV<\/td><td>processed<\/td>/);
    assert.ok(html.indexOf('<h3>Writing weights</h3>') < html.indexOf('<section id="figure-'), 'inside the fits section');
  });

  it('lists the weights file among the models with its primary variant', () => {
    assert.match(markdown, /\| .*tiny-gpt2\.weights\.json \| tiny-gpt2 \| — \| gpt2 \| 6 \| 32 \| 4 \| F32 \| layernorm \| no \| processed weights \(TransformerLens processes weights/);
  });
});
