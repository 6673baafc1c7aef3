/** Behaviour of the figure builders that golden files do not pin down by name. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { subjectOf } from '../support/measured.js';
import { summarizeV1 } from '../support/synthetic-measurement.js';
import { FIGURES } from '../../src/figures/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS, type FigureOutcome, type PlotSubject } from '../../src/figures/figure-types.js';
import { readTinyMeasurement, tinySubjects } from './plot-fixtures.js';

type Spec = Record<string, unknown> & {
  layer?: Spec[];
  hconcat?: Spec[];
  data?: { values: Array<Record<string, unknown>> };
  title?: { text: string; subtitle?: string[] };
};

function specOf(outcome: FigureOutcome): Spec {
  assert.ok(outcome.drawn, outcome.drawn ? '' : outcome.reason);
  return outcome.spec as unknown as Spec;
}

describe('figure builders', () => {
  it('draw the raw norm, and say so, for a model whose primary metric is raw (RMSNorm)', async () => {
    const measurement = await readTinyMeasurement();
    measurement.options.primaryMetric = 'raw';
    measurement.summary = summarizeV1(measurement);
    const subject: PlotSubject = await subjectOf(measurement, {}, undefined, 'raw.json');
    const spec = specOf(FIGURES.tokens.build(subject, DEFAULT_FIGURE_OPTIONS));
    const tokens = spec.layer![0]!.data!.values;
    const raw = measurement.sequences[0]!.rawNorms.resid_pre!;
    for (const row of tokens) assert.equal(row.norm, raw[row.layer as number]![row.position as number]);
    assert.equal((spec.layer![0]!.layer![0]!.encoding as { y: { title: string } }).y.title, '‖resid_pre‖₂ (raw)');
    assert.match(spec.title!.subtitle!.join(' '), /raw norm ‖x‖₂/);
  });

  it('name the hook that is missing and the hooks that were measured', async () => {
    const [subject] = await tinySubjects();
    subject!.measurement.hooks = ['resid_post'];
    const outcome = FIGURES.growth.build(subject!, { ...DEFAULT_FIGURE_OPTIONS, hook: 'resid_mid' });
    assert.deepEqual(outcome, { drawn: false, reason: 'tiny-gpt2 has no resid_mid measurements (measured: resid_post)' });
  });

  it('growth draws the headline, resid_post, unless --hook names another; resid_pre where resid_post was not measured', async () => {
    const [subject] = await tinySubjects();
    const title = (options = DEFAULT_FIGURE_OPTIONS) => specOf(FIGURES.growth.build(subject!, options)).title!.text;
    assert.match(title(), /mean ‖resid_post‖₂ per layer/);
    assert.match(title({ ...DEFAULT_FIGURE_OPTIONS, hook: 'mlp_out' }), /mean ‖mlp_out‖₂ per layer/);
    subject!.measurement.hooks = ['resid_pre', 'attn_out'];
    assert.match(title(), /mean ‖resid_pre‖₂ per layer/);
    assert.deepEqual(FIGURES.growth.fitHooks?.(DEFAULT_FIGURE_OPTIONS), ['resid_post', 'resid_pre']);
  });

  it('growth writes "not one exponential" on the chart, under the rates, saying why in a few words', async () => {
    const [subject] = await tinySubjects();
    const marks = (fit: PlotSubject['fits']['resid_post']) => {
      const spec = specOf(FIGURES.growth.build({ ...subject!, fits: { resid_post: fit } }, DEFAULT_FIGURE_OPTIONS));
      return JSON.stringify(spec.layer);
    };
    const fit = subject!.fits.resid_post!;
    assert.doesNotMatch(marks({ ...fit, shape: { oneExponential: true, reason: 'one line' } }), /not one exponential/);
    const onePhase = { ...fit, r2: 0.69, phases: [fit.phases[0]!], shape: { oneExponential: false, reason: 'the line explains 69%' } };
    assert.match(marks(onePhase), /"text":"not one exponential: R² 0\.6900 < 0\.95"/);
    assert.match(
      marks({ ...fit, r2: 0.97, shape: { oneExponential: false, reason: 'two phases' } }),
      /"text":"not one exponential: 2 phases with different rates"/,
    );
    const subtitle = specOf(FIGURES.growth.build({ ...subject!, fits: { resid_post: onePhase } }, DEFAULT_FIGURE_OPTIONS)).title!.subtitle;
    assert.doesNotMatch(JSON.stringify(subtitle), /quote the phases/, 'one phase: nothing to quote');
  });

  it('compare: one panel per family, models small to large, resid_post unless --hook', async () => {
    const [sequential, parallel] = await tinySubjects();
    const big = structuredClone(sequential!);
    big.measurement.model = { ...big.measurement.model, id: 'openai-community/gpt2-xl', dModel: 1600 };
    const spec = specOf(FIGURES.compare.build([big, parallel!, sequential!], DEFAULT_FIGURE_OPTIONS));
    assert.deepEqual(
      spec.hconcat!.map((panel) => (panel.title as unknown as { text: string }).text),
      ['OpenAI/Facebook', 'EleutherAI'],
    );
    const domain = (spec.hconcat![0]!.layer![0]!.encoding as { color: { scale: { domain: string[] } } }).color.scale.domain;
    assert.deepEqual(domain, ['tiny-gpt2', 'openai-community/gpt2-xl']);
    assert.match(spec.title!.text, /mean ‖resid_post‖₂ per layer across 3 models/);
    const withHook = specOf(FIGURES.compare.build([sequential!], { ...DEFAULT_FIGURE_OPTIONS, hook: 'mlp_out' }));
    assert.match(withHook.title!.text, /‖mlp_out‖₂/);
  });

  it('compare --rescale sqrt-d divides by √d_model; --x relative-depth puts resid_post of the last block at 1', async () => {
    const [subject] = await tinySubjects();
    const plain = specOf(FIGURES.compare.build([subject!], DEFAULT_FIGURE_OPTIONS)).hconcat![0]!.data!.values;
    const scaled = specOf(FIGURES.compare.build([subject!], { ...DEFAULT_FIGURE_OPTIONS, rescale: 'sqrt-d', x: 'relative-depth' })).hconcat![0]!.data!.values;
    plain.forEach((row, index) => {
      assert.ok(Math.abs((scaled[index]!.norm as number) - (row.norm as number) / Math.sqrt(32)) < 1e-4 * (row.norm as number));
      assert.ok(Math.abs((scaled[index]!.x as number) - ((row.x as number) + 1) / 6) < 1e-5); // 6 significant digits
    });
  });
});
