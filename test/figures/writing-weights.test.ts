/** Figure 9 (weights): what the builder draws from a weights file, with and without a results file. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOVER_PREFIX } from '../../src/figures/interaction.js';
import { FIGURES } from '../../src/figures/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS, type FigureOutcome, type WeightsSubject } from '../../src/figures/figure-types.js';
import { handMadeFit, handMadeWeightFit, tinySubjects, tinyWeightsSubject } from './plot-fixtures.js';

interface Layer {
  name?: string;
  data: { values: Array<Record<string, unknown>> };
  mark: { type: string };
  encoding: { color?: { scale: { domain: string[]; range: string[] } }; strokeDash?: { scale: { range: number[][] } }; tooltip?: unknown };
}
interface Panel {
  title: { text: string };
  layer: Layer[];
}
interface Spec {
  title: { text: string; subtitle: string[] };
  hconcat: Panel[];
}

function specOf(outcome: FigureOutcome): Spec {
  assert.ok(outcome.drawn, outcome.drawn ? '' : outcome.reason);
  return outcome.spec as unknown as Spec;
}

function build(subject: WeightsSubject, options = DEFAULT_FIGURE_OPTIONS): FigureOutcome {
  return FIGURES.weights.build(subject, options);
}

/** Series drawn by a panel's line layers, in drawing order, with their rows. */
function lines(panel: Panel): Map<string, Array<Record<string, unknown>>> {
  const series = new Map<string, Array<Record<string, unknown>>>();
  for (const layer of panel.layer.filter((entry) => entry.mark.type === 'line')) {
    for (const row of layer.data.values) series.set(row.series as string, [...(series.get(row.series as string) ?? []), row]);
  }
  return series;
}

describe('the weights figure', () => {
  it('draws each writing weight per layer, W_OV per head, and the block outputs of the paired results file first', async () => {
    const [subject] = await tinySubjects();
    const weightsSubject = await tinyWeightsSubject(subject);
    const spec = specOf(build(weightsSubject));
    const [attention, mlp] = spec.hconcat;
    assert.deepEqual(
      spec.hconcat.map((panel) => panel.title.text),
      ['attention: what the heads write', 'MLP: what the MLP writes'],
    );
    // Rates: hand-made fits of attn_out (1.04) and mlp_out (1.06), W_OV (1.15) and W_out (1.08); none for the others.
    assert.deepEqual([...lines(attention!).keys()], ['mean ‖attn_out‖₂ ×1.0400', '‖W_OV‖_F ×1.1500', '‖b_O‖₂ (no fit)']);
    assert.deepEqual(
      [...lines(mlp!).keys()],
      ['mean ‖mlp_out‖₂ ×1.0600', '‖W_in‖_F (no fit)', '‖W_out‖_F ×1.0800', '‖b_out‖₂ (no fit)', '‖W_in·W_out‖_F (no fit)', '‖b_in·W_out‖₂ (no fit)'],
    );
    const { weights } = weightsSubject;
    const wov = lines(attention!).get('‖W_OV‖_F ×1.1500')!;
    assert.deepEqual(
      wov.map((row) => row.layer),
      [0, 1, 2, 3, 4, 5],
    );
    wov.forEach((row, layer) => assert.ok(Math.abs((row.norm as number) / weights.layers[layer]!.processed.W_OV - 1) < 1e-5));
    const attn = lines(attention!).get('mean ‖attn_out‖₂ ×1.0400')!;
    attn.forEach((row) => assert.ok(Math.abs((row.norm as number) / subject!.measurement.summary.attn_out![row.layer as number]!.mean - 1) < 1e-5));
    assert.deepEqual(new Set(attn.map((row) => row.width)), new Set([4.5]));
    assert.deepEqual(new Set(wov.map((row) => row.width)), new Set([2]));
    // Heads: 6 layers × 4 heads, drawn first (under the lines), only in the attention panel.
    const heads = attention!.layer[0]!;
    assert.equal(heads.mark.type, 'point');
    assert.equal(heads.data.values.length, 6 * 4);
    assert.equal(heads.data.values.find((row) => row.layer === 3 && row.head === 2)!.norm, Number(weights.layers[3]!.heads.processed.W_OV[2]!.toPrecision(6)));
    // The interactive report's invisible hover points come last: a tooltip per head and per line point.
    const drawnLayers = (panel: Panel) => panel.layer.filter((layer) => !String(layer.name ?? '').startsWith(HOVER_PREFIX));
    assert.ok(drawnLayers(mlp!).every((layer) => layer.mark.type === 'line'));
    const headHover = attention!.layer.find((layer) => layer.name === `${HOVER_PREFIX}heads_0`)!;
    assert.deepEqual(
      (headHover.encoding.tooltip as Array<{ field: string }>).map((entry) => entry.field),
      ['head', 'layer', 'norm'],
    );
    assert.equal(drawnLayers(attention!).length, attention!.layer.length - 2);
    // Biases dashed, the rest solid.
    const dashes = mlp!.layer[0]!.encoding.strokeDash!.scale.range;
    assert.deepEqual(dashes, [[], [], [], [6, 4], [], [6, 4]]);
    assert.match(spec.title.text, /^tiny-gpt2 — weights that write to the residual stream, and what the blocks write/);
    const subtitle = spec.title.subtitle.join('\n');
    assert.match(subtitle, /^processed weights \(TransformerLens/);
    assert.match(subtitle, /thick: mean ‖attn_out‖₂ and ‖mlp_out‖₂ over tokens \(position 0 excluded\)/);
    assert.match(subtitle, /prompts: prompts\/tiny\.txt · 3 prompts/);
  });

  it('draws the weights alone, and says so on the figure and in its note', async () => {
    const outcome = build(await tinyWeightsSubject());
    const spec = specOf(outcome);
    assert.deepEqual([...lines(spec.hconcat[0]!).keys()], ['‖W_OV‖_F ×1.1500', '‖b_O‖₂ (no fit)']);
    assert.ok(spec.title.subtitle.includes('note: weights only (test)'), spec.title.subtitle.join('\n'));
    assert.doesNotMatch(spec.title.subtitle.join('\n'), /prompts:|thick:/);
    assert.ok(outcome.drawn && outcome.note === 'weights only (test)');
  });

  it('draws the raw variant when asked, without the processed fits', async () => {
    const subject = await tinyWeightsSubject();
    const spec = specOf(build(subject, { ...DEFAULT_FIGURE_OPTIONS, variant: 'raw' }));
    const wov = lines(spec.hconcat[0]!).get('‖W_OV‖_F (no fit)')!;
    wov.forEach((row, layer) => assert.equal(row.norm, Number(subject.weights.layers[layer]!.raw.W_OV.toPrecision(6))));
    assert.match(spec.title.subtitle[0]!, /^raw weights, as stored in the checkpoint/);
    assert.match(JSON.stringify(spec), /"title":"‖W‖_F, ‖b‖₂ \(raw\)"/);
  });

  it('names the layers of a fit that does not span them all', async () => {
    const subject = await tinyWeightsSubject();
    subject.fits.W_OV = { ...handMadeWeightFit('W_OV', 1.2), fromLayer: 2, toLayer: 5 };
    assert.ok(lines(specOf(build(subject)).hconcat[0]!).has('‖W_OV‖_F ×1.2000 (layers 2–5)'));
  });

  it('writes every note in full, wrapped, and says which values a log axis cannot show', async () => {
    const [paired] = await tinySubjects();
    paired!.measurement.hooks = paired!.measurement.hooks.filter((hook) => hook !== 'mlp_out');
    paired!.fits = { attn_out: handMadeFit('attn_out') };
    const subject = await tinyWeightsSubject(paired);
    subject.weights.layers[2]!.processed.b_O = 0;
    subject.weights.layers[4]!.processed.b_O = 0;
    subject.weights.layers[1]!.heads.processed.W_OV[3] = 0;
    subject.pairingNote = `a long note ${'that goes on '.repeat(12)}until the end`;
    const outcome = build(subject);
    const spec = specOf(outcome);
    const subtitle = spec.title.subtitle;
    assert.ok(
      subtitle.every((line) => line.length <= 100),
      subtitle.join('\n'),
    );
    const text = subtitle.join(' ');
    assert.ok(text.includes(`note: ${subject.pairingNote}`), text);
    assert.match(text, /note: tiny-gpt2 has no mlp_out measurements \(measured: resid_pre, resid_mid, resid_post, attn_out\)/);
    assert.match(text, /note: b_O is 0 at layers 2, 4, which a log axis cannot show/);
    assert.match(text, /note: W_OV of head 3 is 0 at layer 1, which a log axis cannot show/);
    assert.deepEqual(
      lines(spec.hconcat[0]!)
        .get('‖b_O‖₂ (no fit)')!
        .map((row) => row.layer),
      [0, 1, 3, 5],
    );
    assert.equal(spec.hconcat[0]!.layer[0]!.data.values.length, 6 * 4 - 1);
    assert.deepEqual(
      [...lines(spec.hconcat[1]!).keys()],
      ['‖W_in‖_F (no fit)', '‖W_out‖_F ×1.0800', '‖b_out‖₂ (no fit)', '‖W_in·W_out‖_F (no fit)', '‖b_in·W_out‖₂ (no fit)'],
    );
    assert.ok(outcome.drawn && outcome.note!.split('; ').length === 4, outcome.drawn ? outcome.note : '');
  });
});
