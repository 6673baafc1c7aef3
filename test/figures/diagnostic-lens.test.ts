/** What the lens figure draws: the streams' entropies and shares, and the growth fit mapped onto the axis of streams. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breakpointsOf, lensFigure, streamOf } from '../../src/figures/diagnostic-lens.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { handMadeFit, tinySubjects, withDiagnostics } from './plot-fixtures.js';

type Layer = { data?: { values: Array<Record<string, unknown>> }; mark: { type: string } | string; encoding?: Record<string, { field?: string }> };
type Panel = { layer: Layer[] };

async function drawn(options = DEFAULT_FIGURE_OPTIONS, edit: (subject: ReturnType<typeof withDiagnostics>) => void = () => undefined): Promise<Panel[]> {
  const subject = withDiagnostics((await tinySubjects())[0]!);
  edit(subject);
  const outcome = lensFigure.build(subject, options);
  assert.ok(outcome.drawn, outcome.drawn ? '' : outcome.reason);
  return (outcome.spec as unknown as { vconcat: Panel[] }).vconcat;
}

const valuesOf = (panel: Panel, mark: string, field: string) =>
  panel.layer
    .filter((layer) => (typeof layer.mark === 'string' ? layer.mark : layer.mark.type) === mark && layer.encoding?.y?.field === field)
    .flatMap((layer) => layer.data!.values);

describe('lens figure', () => {
  it('places each hook on the axis of streams: resid_pre of block l after l blocks, resid_post after l + 1, the writes inside', () => {
    assert.deepEqual([streamOf('resid_pre', 3), streamOf('resid_post', 3), streamOf('attn_out', 3), streamOf('resid_mid', 3)], [3, 4, 3.5, 3.5]);
    assert.deepEqual(breakpointsOf(handMadeFit('resid_pre')), [2.5], 'phases 0–2 and 3–5: between resid_pre 2 and 3');
    assert.deepEqual(breakpointsOf(handMadeFit('resid_post')), [3.5], 'the same layers of resid_post sit one stream later');
    assert.deepEqual(breakpointsOf({ ...handMadeFit('resid_pre'), phases: [handMadeFit('resid_pre').phases[0]!] }), [], 'one phase: no breakpoint');
  });

  it('draws the entropy of every stream, the two shares, and the norm growth with its fit and breakpoint', async () => {
    const [entropy, shares, norms] = await drawn();
    const medians = valuesOf(entropy!, 'line', 'median');
    assert.deepEqual(
      medians.map((row) => row.layer),
      [0, 1, 2, 3, 4, 5, 6],
      'nLayers + 1 streams',
    );
    assert.deepEqual(
      medians.map((row) => row.median),
      [4, 3.5, 3, 2.5, 2, 1.5, 1],
    );
    const shareRows = shares!.layer.find((layer) => layer.encoding?.y?.field === 'share')!.data!.values;
    assert.equal(shareRows.length, 14);
    assert.deepEqual(
      shareRows.filter((row) => String(row.series).includes('top prediction')).map((row) => row.share),
      [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75],
    );
    const rules = norms!.layer
      .filter((layer) => (typeof layer.mark === 'string' ? layer.mark : layer.mark.type) === 'rule')
      .flatMap((layer) => layer.data!.values);
    assert.deepEqual(
      rules.map((row) => row.layer),
      [2.5],
    );
    assert.deepEqual(
      valuesOf(norms!, 'line', 'norm')
        .filter((row) => row.phase !== undefined)
        .map((row) => row.layer),
      [0, 2, 3, 5],
      'the fit’s phases, resid_pre on streams 0…5',
    );
  });

  it('is not drawn, and says why, when no included token had a next token', async () => {
    const subject = withDiagnostics((await tinySubjects())[0]!);
    (subject.measurement as unknown as { diagnostics: { summaries: { lens: { tokens: number } } } }).diagnostics.summaries.lens.tokens = 0;
    const outcome = lensFigure.build(subject, DEFAULT_FIGURE_OPTIONS);
    assert.ok(!outcome.drawn);
    assert.match(outcome.reason, /has no included token with a next token/);
  });
});
