import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import type { TopLevelSpec } from 'vega-lite';
import { FIGURE_NAMES, type FigureName } from '../../src/figures/figure-registry.js';
import { planFigures } from '../../src/figures/figure-plan.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { rasterizeSvg, renameSvgIds, renderSvg } from '../../src/rendering/render.js';
import { tinySubjects, tinyWeightsSubject } from '../figures/plot-fixtures.js';

/** Parse strictly: any XML error fails the test. */
function parseSvg(svg: string): Document {
  const parser = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(`SVG is not well-formed XML: ${message}`);
    },
  });
  return parser.parseFromString(svg, 'image/svg+xml');
}

function groupsWithClass(document: Document, prefix: string): Element[] {
  return Array.from(document.getElementsByTagName('g')).filter((g) => (g.getAttribute('class') ?? '').startsWith(prefix));
}

/** Lines drawn: Vega puts each line (each series of a line mark) in its own group. */
function countLines(document: Document): number {
  return groupsWithClass(document, 'mark-line role-mark').length;
}

function axisTitles(document: Document): string[] {
  return groupsWithClass(document, 'mark-text role-axis-title').map((g) => g.textContent ?? '');
}

function texts(document: Document): string[] {
  return Array.from(document.getElementsByTagName('text')).map((text) => text.textContent ?? '');
}

/**
 * What each figure of the tiny fixture must show: axis titles and the number of lines.
 * Fixture: 6 layers; prompts of 5, 5 and 3 tokens (BOS first); hand-made fits of 2 phases.
 */
const EXPECTED: Record<string, { titles: string[]; lines: number }> = {
  'tiny-gpt2-histograms': { titles: ['log10 ‖resid_pre‖₂ (centered)', '% of tokens in bin'], lines: 6 }, // every layer of a 6-layer model
  'tiny-gpt2-tokens': { titles: ['layer', '‖resid_pre‖₂ (centered)'], lines: 5 }, // 4 tokens + BOS of prompt 0
  'tiny-gpt2-growth': { titles: ['layer', '‖resid_post‖₂ (centered)'], lines: 3 }, // mean + 2 fit phases
  'tiny-gpt2-ratio': { titles: ['layer l', 'growth ratio ‖x(l)‖₂ / ‖x(l − 1)‖₂'], lines: 2 }, // median + BOS
  'tiny-gpt2-positions': { titles: ['layer', 'mean ‖resid_pre‖₂ (centered)'], lines: 5 }, // positions 1–4 + BOS
  'tiny-gpt2-resid-mid': { titles: ['depth in blocks (block l: resid_mid at l + ½, resid_post at l + 1)', 'mean ‖x‖₂ (centered)'], lines: 1 },
  'tiny-gpt2-block-outputs': { titles: ['layer', 'mean ‖attn_out‖₂, ‖mlp_out‖₂ (centered)'], lines: 6 }, // 2 means + 2 × 2 fit phases
  compare: { titles: ['layer', 'mean ‖resid_post‖₂ (centered)', 'layer', 'mean ‖resid_post‖₂ (centered)'], lines: 2 }, // 2 panels, 1 model each
};

async function renderFirst(figures: FigureName[]): Promise<{ spec: TopLevelSpec }> {
  const outcome = planFigures(await tinySubjects(), figures, DEFAULT_FIGURE_OPTIONS)[0]!.outcome;
  assert.ok(outcome.drawn);
  return outcome;
}

describe('renderSvg', () => {
  it('renders every figure to well-formed SVG with its axis titles and lines, without Vega warnings', async () => {
    const plan = planFigures(await tinySubjects(), FIGURE_NAMES, DEFAULT_FIGURE_OPTIONS);
    for (const [stem, expected] of Object.entries(EXPECTED)) {
      const planned = plan.find((entry) => entry.stem === stem);
      assert.ok(planned?.outcome.drawn, `${stem} was not drawn`);
      const { svg, warnings } = await renderSvg(planned.outcome.spec, stem);
      assert.deepEqual(warnings, [], stem);
      assert.ok(!svg.includes('NaN'), `${stem} has NaN coordinates`);
      const document = parseSvg(svg);
      assert.equal(document.documentElement?.tagName, 'svg');
      assert.deepEqual(axisTitles(document), expected.titles, stem);
      assert.equal(countLines(document), expected.lines, `${stem}: lines`);
    }
  });

  it('renders the weights figure: two panels, a line per quantity, a dot per head, rates in the legends; the same bytes twice', async () => {
    const subjects = await tinySubjects();
    const [planned] = planFigures(subjects, ['weights'], DEFAULT_FIGURE_OPTIONS, [await tinyWeightsSubject(subjects[0])]);
    assert.ok(planned?.outcome.drawn);
    const { svg, warnings } = await renderSvg(planned.outcome.spec, 'weights');
    assert.deepEqual(warnings, []);
    assert.ok(!svg.includes('NaN'));
    const document = parseSvg(svg);
    // The MLP panel shares the attention panel's log axis (same domain), so only the first names it.
    assert.deepEqual(axisTitles(document), ['layer', '‖W‖_F, ‖b‖₂ (processed) · mean ‖x‖₂ (centered)', 'layer']);
    const lines = groupsWithClass(document, 'mark-line role-mark').flatMap((g) => Array.from(g.getElementsByTagName('path')));
    assert.equal(lines.length, 3 + 6, 'attn_out, W_OV, b_O | mlp_out, W_in, W_out, b_out, W_in·W_out, b_in·W_out');
    assert.deepEqual(
      lines.map((path) => path.getAttribute('stroke-width')),
      ['4.5', '2', '2', '4.5', '2', '2', '2', '2', '2'],
    );
    const dots = groupsWithClass(document, 'mark-symbol role-mark').flatMap((g) => Array.from(g.getElementsByTagName('path')));
    assert.equal(dots.length, 6 * 4, 'one dot per layer and head');
    const legend = groupsWithClass(document, 'mark-text role-legend-label').map((g) => g.textContent);
    assert.deepEqual(legend, [
      'mean ‖attn_out‖₂ ×1.0400',
      '‖W_OV‖_F ×1.1500',
      '‖b_O‖₂ (no fit)',
      'mean ‖mlp_out‖₂ ×1.0600',
      '‖W_in‖_F (no fit)',
      '‖W_out‖_F ×1.0800',
      '‖b_out‖₂ (no fit)',
      '‖W_in·W_out‖_F (no fit)',
      '‖b_in·W_out‖₂ (no fit)',
    ]);
    const symbols = groupsWithClass(document, 'mark-symbol role-legend-symbol').flatMap((g) => Array.from(g.getElementsByTagName('path')));
    assert.deepEqual(
      symbols.map((path) => path.getAttribute('stroke-width')),
      ['4.5', '2', '2', '4.5', '2', '2', '2', '2', '2'],
      'legend lines as thick as the lines',
    );
    await renderSvg((await renderFirst(['growth'])).spec, 'other');
    assert.equal((await renderSvg(planned.outcome.spec, 'weights')).svg, svg);
  });

  it('writes fit rates and the position-0 label on the charts', async () => {
    const plan = planFigures(await tinySubjects(), ['growth', 'tokens'], DEFAULT_FIGURE_OPTIONS);
    const growth = plan.find((entry) => entry.stem === 'tiny-gpt2-growth')!;
    const tokens = plan.find((entry) => entry.stem === 'tiny-gpt2-tokens')!;
    assert.ok(growth.outcome.drawn && tokens.outcome.drawn);
    const growthTexts = texts(parseSvg((await renderSvg(growth.outcome.spec, 'g')).svg));
    assert.ok(growthTexts.includes('fit layers 3–5: ×1.0500 per layer (95% CI 1.0400–1.0600, bootstrap), R² 0.9700'), growthTexts.join(' | '));
    assert.ok(texts(parseSvg((await renderSvg(tokens.outcome.spec, 't')).svg)).some((text) => text.startsWith('position 0')));
  });

  it('gives byte-identical SVG for the same spec, whatever was rendered before', async () => {
    const plan = planFigures(await tinySubjects(), ['positions', 'histograms'], DEFAULT_FIGURE_OPTIONS);
    const [first, second] = plan.filter((entry) => entry.outcome.drawn).map((entry) => (entry.outcome.drawn ? entry.outcome.spec : undefined));
    const once = (await renderSvg(first!, 'fig')).svg;
    await renderSvg(second!, 'other');
    const again = (await renderSvg(first!, 'fig')).svg;
    assert.equal(again, once);
    assert.match(once, /id="fig-1"/);
  });

  it('points every url(#…) reference at an id of the same SVG', async () => {
    const plan = planFigures(await tinySubjects(), ['tokens'], DEFAULT_FIGURE_OPTIONS);
    const outcome = plan[0]!.outcome;
    assert.ok(outcome.drawn);
    const { svg } = await renderSvg(outcome.spec, 'tokens');
    const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]));
    const references = [...svg.matchAll(/url\(#([^)]+)\)/g)].map((match) => match[1]);
    assert.ok(references.length > 0, 'expected clip paths or gradients');
    for (const reference of references) assert.ok(ids.has(reference), `dangling reference #${reference}`);
    for (const id of ids) assert.match(id!, /^tokens-\d+$/);
  });
});

describe('renameSvgIds', () => {
  it('renames ids and their references in order of appearance, never text content', () => {
    const svg =
      '<svg><g clip-path="url(#clip7)"><text>id="clip7" url(#clip7)</text></g><defs><clipPath id="clip7"/><linearGradient id="gradient_3"/></defs><rect fill="url(#gradient_3)"/></svg>';
    assert.equal(
      renameSvgIds(svg, 'f'),
      '<svg><g clip-path="url(#f-1)"><text>id="clip7" url(#clip7)</text></g><defs><clipPath id="f-1"/><linearGradient id="f-2"/></defs><rect fill="url(#f-2)"/></svg>',
    );
  });
});

describe('rasterizeSvg', () => {
  it('makes a PNG of twice the SVG size', async () => {
    const plan = planFigures(await tinySubjects(), ['growth'], DEFAULT_FIGURE_OPTIONS);
    const outcome = plan[0]!.outcome;
    assert.ok(outcome.drawn);
    const { svg } = await renderSvg(outcome.spec, 'g');
    const png = rasterizeSvg(svg);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const width = Number(/^<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    assert.equal(png.readUInt32BE(16), width * 2);
  });
});
