import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { runReport } from '../../src/commands/report.js';
import { fitWeightGrowth } from '../../src/analysis/weight-growth-fit.js';
import { FIGURE_NAMES } from '../../src/figures/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import { TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH, readTinyMeasurement, tinySubjects, toParallelResidual } from '../figures/plot-fixtures.js';

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
    await runReport(
      { files: [TINY_MEASUREMENT_PATH, parallel], outDir, figures: [...FIGURE_NAMES], figureOptions: { ...DEFAULT_FIGURE_OPTIONS, prompt: 1 } },
      createSilentReporter(),
    );
    html = await readFile(join(outDir, 'index.html'), 'utf8');
    markdown = await readFile(join(outDir, 'summary.md'), 'utf8');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('inlines every drawn figure, as a spec for the page and a static SVG, also written to figures/, and says which could not be drawn', async () => {
    // 9 figures of the sequential model, 8 of the parallel one (no resid_mid), 1 comparison.
    const stems = [...html.matchAll(/<div class="chart" data-figure="([^"]+)"><\/div>/g)].map((match) => match[1]!);
    assert.equal(stems.length, 18);
    assert.equal(html.match(/<noscript><div class="static">\n<svg /g)?.length, 18);
    assert.deepEqual((await readdir(join(root, 'report', 'figures'))).sort(), stems.map((stem) => `${stem}.svg`).sort());
    for (const stem of stems) {
      const svg = await readFile(join(root, 'report', 'figures', `${stem}.svg`), 'utf8');
      assert.ok(html.includes(`<noscript><div class="static">\n${svg}\n</div></noscript>`), `${stem}: the page's fallback is the SVG file`);
      assert.ok(markdown.includes(`(figures/${stem}.svg)`), `${stem} linked from summary.md`);
      const spec = /<script type="application\/json" id="spec-([^"]+)">(.*?)<\/script>/.exec(html.slice(html.indexOf(`id="spec-${stem}"`) - 40));
      assert.equal(spec?.[1], stem);
      assert.equal((JSON.parse(spec[2]!) as { $schema: string }).$schema, 'https://vega.github.io/schema/vega-lite/v6.json');
    }
    assert.match(html, /Not drawn: tiny-pythia is a parallel-residual model/);
    assert.doesNotMatch(html, /<section id="figure-weights">/, 'no section for a figure of which nothing was drawn…');
    assert.match(html, /<section id="not-drawn">\n<h2>Not drawn<\/h2>\n<ul>[\s\S]*<li>weights[^<]*: no weights file was given/, '…it is listed with why');
    assert.doesNotMatch(html, /Writing weights/, 'no weight fit table without weights files');
    assert.match(markdown, /### Figures not drawn\n\n- resid-mid \(tiny-pythia \(.*parallel\.json\)\): tiny-pythia is a parallel-residual model/);
  });

  it('makes no external requests: inline scripts only (the pinned vega runtimes), no links, images or imports', async () => {
    const outsideScripts = html.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, '$1</script>');
    assert.doesNotMatch(outsideScripts, /<link|<img|<iframe|@import|src=/i);
    assert.doesNotMatch(outsideScripts, /(href|url\()\s*=?\s*["(]?\s*(https?:|\/\/)/i);
    const manifest = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['vega', 'vega-lite', 'vega-embed']) {
      assert.match(manifest.dependencies[name]!, /^\d+\.\d+\.\d+$/, `${name} is pinned to one version`);
      assert.ok(html.includes(`<script>/* ${name} ${manifest.dependencies[name]} */\n`), `${name} ${manifest.dependencies[name]} inlined`);
    }
  });

  it('escapes prompt text inside the inline specs, so it cannot close their script element', () => {
    const spec = /<script type="application\/json" id="spec-tiny-gpt2-tokens">(.*?)<\/script>/.exec(html)![1]!;
    assert.doesNotMatch(spec, /</);
    assert.ok(JSON.stringify(JSON.parse(spec)).includes('A <b>\\"quoted\\"</b> & id=\\"x\\" prompt'));
  });

  it('has the fit table, model and run metadata and the full prompt-set hash', async () => {
    const measurement = await readTinyMeasurement();
    assert.ok(html.includes(measurement.prompts.sha256));
    assert.ok(markdown.includes(measurement.prompts.sha256));
    // Five hooks fitted for the sequential model, four for the parallel one.
    assert.equal(markdown.split('\n').filter((line) => /^\| tiny-(gpt2|pythia) \| (resid|attn|mlp)/.test(line)).length, 9);
    assert.match(html, /<td data-label="architecture">gpt_neox<\/td>/);
    assert.match(html, /<td data-label="prompt set">prompts\/tiny\.txt<\/td>/);
  });

  it('escapes text from the results file, in tables and in figures', () => {
    assert.ok(html.includes('<td data-label="prompt set">prompts/&lt;odd&gt; &amp; &quot;name&quot;.txt</td>'));
    assert.ok(html.includes('A &lt;b&gt;"quoted"&lt;/b&gt; &amp; id="x" prompt'), 'prompt text in the tokens figure');
    assert.doesNotMatch(html, /<b>|<odd>/);
    assert.ok(markdown.includes('prompts/&lt;odd&gt; & "name".txt'));
  });

  it('opens with the headline growth of each model, its interval and its shape; figures next, fits, then the metadata', () => {
    const headline =
      /<ul class="headline">\n<li>(tiny-gpt2: resid_post grows ×\d\.\d{4} per layer, layers 0–5 \(95% CI \d\.\d{4}–\d\.\d{4}, (bootstrap over prompts|regression); mean centered norm\) — (one exponential \(R² \d\.\d{4}\)|not one exponential \([^)]+\)[^<]*))<\/li>/.exec(
        html,
      );
    assert.ok(headline, 'the headline is resid_post, with its interval');
    const order = [
      '<ul class="headline">',
      '<section id="figure-',
      '<section id="fits">',
      '<section id="not-drawn">',
      '<section id="models">',
      '<section id="runs">',
    ].map((marker) => html.indexOf(marker));
    assert.ok(
      order.every((at, index) => at >= 0 && (index === 0 || at > order[index - 1]!)),
      `sections in order: ${order.join(', ')}`,
    );
    const lines = markdown.split('\n');
    assert.match(lines[2]!, /^- \*\*tiny-gpt2: resid_post grows ×\d\.\d{4} per layer/);
    const heads = ['### Figures', '### Growth fits', '### Figures not drawn', '### Models', '### Runs and prompt sets'].map((head) => lines.indexOf(head));
    assert.ok(
      heads.every((at, index) => at > 2 && (index === 0 || at > heads[index - 1]!)),
      `markdown sections in order: ${heads.join(', ')}`,
    );
  });

  it('says "quote the phases" only where the fit found several', async () => {
    const { fitTable } = await import('../../src/report/report-content.js');
    const [subject] = await tinySubjects();
    const fit = subject!.fits.resid_pre!;
    const table = fitTable([
      {
        ...subject!,
        fits: {
          resid_pre: { ...fit, shape: { oneExponential: false, reason: 'R² low' } },
          resid_post: { ...fit, hook: 'resid_post', phases: [fit.phases[0]!], shape: { oneExponential: false, reason: 'R² low' } },
        },
      },
    ]);
    assert.deepEqual(
      table.rows.map((row) => [row[1], row.at(-1)]),
      [
        ['resid_post', 'NO: R² low'],
        ['resid_pre', 'NO: R² low; quote the phases'],
      ],
      'the headline first; one phase: nothing to quote',
    );
  });

  it('gives the same bytes for the same input', async () => {
    const outDir = join(root, 'again');
    const parallel = join(root, 'parallel.json');
    await runReport(
      { files: [TINY_MEASUREMENT_PATH, parallel], outDir, figures: [...FIGURE_NAMES], figureOptions: { ...DEFAULT_FIGURE_OPTIONS, prompt: 1 } },
      createSilentReporter(),
    );
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
    await runReport(
      { files: [TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH], outDir, figures: ['block-outputs', 'weights'], figureOptions: DEFAULT_FIGURE_OPTIONS },
      createSilentReporter(),
    );
    html = await readFile(join(outDir, 'index.html'), 'utf8');
    markdown = await readFile(join(outDir, 'summary.md'), 'utf8');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('inlines figure 9 beside the others', () => {
    assert.equal(html.match(/<noscript><div class="static">\n<svg /g)?.length, 2);
    assert.match(
      html,
      /<section id="figure-weights">\n<h2>weights<\/h2>\n<p class="summary">writing weights per layer[^<]*<\/p>\n<h3>tiny-gpt2 \(.*tiny-gpt2\.weights\.json\)<\/h3>\n<figure id="weights">/,
    );
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
    assert.match(html, /<h3>Writing weights<\/h3>[\s\S]*<td data-label="series">W_OV<\/td><td data-label="variant">processed<\/td>/);
    assert.ok(html.indexOf('<h3>Writing weights</h3>') > html.indexOf('<section id="fits">'), 'inside the fits section');
    assert.ok(html.indexOf('<h3>Writing weights</h3>') < html.indexOf('<section id="models">'), 'before the metadata');
  });

  it('lists the weights file among the models with its primary variant', () => {
    assert.match(
      markdown,
      /\| .*tiny-gpt2\.weights\.json \| tiny-gpt2 \| — \| gpt2 \| 6 \| 32 \| 4 \| F32 \| layernorm \| no \| processed weights \(TransformerLens processes weights/,
    );
  });
});
