/**
 * Inputs for the figure tests: a tiny committed results file (6 layers, 3 prompts of 5, 5 and
 * 3 tokens, BOS at position 0; made with syntheticMeasurement and rounded to 4 digits, one
 * prompt holding HTML and id="…" to test escaping), a parallel-residual variant, a weights file
 * of a model of the same id and shape, and hand-made growth fits with round numbers, so specs
 * can be checked without fitting.
 */
import { fileURLToPath } from 'node:url';
import type { FitLine, MechanismsSubject, PlotSubject, WeightFitLine, WeightsSubject } from '../../src/figures/figure-types.js';
import { readMechanismsFile } from '../../src/results/read-mechanisms.js';
import { readMeasurement } from '../../src/results/read-measurement.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import type { MeasurementV1 } from '../../src/results/schema.js';
import type { HookName } from '../../src/vocabulary/hooks.js';
import { subjectOf } from '../support/measured.js';
import type { WeightSeriesName } from '../../src/results/weights-schema.js';

export const TINY_MEASUREMENT_PATH = fileURLToPath(new URL('../../../test/figures/fixtures/tiny-measurement.json', import.meta.url));
/** `resid-norms weights` on a tiny GPT-2 of the same shape and id (see weights-fixture.test.ts). */
export const TINY_WEIGHTS_PATH = fileURLToPath(new URL('../../../test/figures/fixtures/tiny-gpt2.weights.json', import.meta.url));
export const GOLDEN_FOLDER = fileURLToPath(new URL('../../../test/figures/golden/', import.meta.url));

export function handMadeFit(hook: HookName, growth = 1.05, intercept = 2.3): FitLine {
  return {
    hook,
    metric: 'centered',
    stat: 'mean',
    fromLayer: 0,
    toLayer: 5,
    growth,
    intercept,
    ciLow: growth - 0.01,
    ciHigh: growth + 0.01,
    ciMethod: 'bootstrap',
    r2: 0.99,
    phases: [
      { fromLayer: 0, toLayer: 2, growth: 1.25, intercept: 2.3, r2: 0.98, ciLow: 1.2, ciHigh: 1.3, ciMethod: 'bootstrap' },
      { fromLayer: 3, toLayer: 5, growth: 1.05, intercept: 2.8, r2: 0.97, ciLow: 1.04, ciHigh: 1.06, ciMethod: 'bootstrap' },
    ],
  };
}

/** The fixture is a version-1 file (values inline), which every reader still accepts. */
export async function readTinyMeasurement(): Promise<MeasurementV1> {
  const document = await readMeasurement(TINY_MEASUREMENT_PATH);
  if (document.version !== 1) throw new Error('the tiny fixture is a version-1 file');
  return document;
}

/** The same data as a parallel-residual model: no resid_mid. */
export function toParallelResidual(measurement: MeasurementV1): MeasurementV1 {
  const copy = structuredClone(measurement);
  copy.model = { ...copy.model, id: 'tiny-pythia', architecture: 'gpt_neox', parallelResidual: true };
  copy.hooks = copy.hooks.filter((hook) => hook !== 'resid_mid');
  for (const sequence of copy.sequences) {
    delete sequence.norms.resid_mid;
    delete sequence.rawNorms.resid_mid;
  }
  delete copy.summary.resid_mid;
  return copy;
}

export async function tinySubjects(): Promise<PlotSubject[]> {
  const measurement = await readTinyMeasurement();
  const fits = {
    resid_pre: handMadeFit('resid_pre'),
    resid_post: handMadeFit('resid_post', 1.05, 2.4),
    attn_out: handMadeFit('attn_out', 1.04, 1.5),
    mlp_out: handMadeFit('mlp_out', 1.06, 1.8),
  };
  return [await subjectOf(measurement, fits, undefined, 'tiny.json'), await subjectOf(toParallelResidual(measurement), fits, undefined, 'tiny-parallel.json')];
}

export function handMadeWeightFit(series: WeightSeriesName, growth: number): WeightFitLine {
  const phase = { fromLayer: 0, toLayer: 5, growth, intercept: 1, r2: 0.95, ciLow: growth - 0.02, ciHigh: growth + 0.02, ciMethod: 'regression' as const };
  return {
    series,
    variant: 'processed',
    fromLayer: 0,
    toLayer: 5,
    growth,
    ciLow: phase.ciLow,
    ciHigh: phase.ciHigh,
    ciMethod: 'regression',
    r2: 0.95,
    phases: [phase],
  };
}

/**
 * The weights fixture paired with `measurement` (a subject of tinySubjects) or alone; hand-made
 * fits of W_OV and W_out only, so the other series show "(no fit)".
 */
export async function tinyWeightsSubject(measurement?: PlotSubject): Promise<WeightsSubject> {
  return {
    path: 'tiny-gpt2.weights.json',
    weights: await readWeightsFile(TINY_WEIGHTS_PATH),
    measurement,
    pairingNote: measurement === undefined ? 'weights only (test)' : undefined,
    fits: { W_OV: handMadeWeightFit('W_OV', 1.15), W_out: handMadeWeightFit('W_out', 1.08) },
  };
}

/** `resid-norms mechanisms` on the growing tiny GPT-2 (8 id prompts of 12 tokens, 64 samples, seed 0), timings zeroed. */
export const TINY_MECHANISMS_PATH = fileURLToPath(new URL('../../../test/figures/fixtures/tiny-gpt2.mechanisms.json', import.meta.url));
/** The same mechanisms as a version-1 file (before the errors took the prompts as the unit), which is still read. */
export const TINY_MECHANISMS_V1_PATH = fileURLToPath(new URL('../../../test/figures/fixtures/tiny-gpt2.mechanisms-v1.json', import.meta.url));

export async function tinyMechanismsSubject(): Promise<MechanismsSubject> {
  return { path: 'tiny-gpt2.mechanisms.json', mechanisms: await readMechanismsFile(TINY_MECHANISMS_PATH) };
}

/**
 * A hand-made `diagnostics` block (round numbers, every diagnostic, --massive-dims 7) for a
 * subject of tinySubjects, as `measure --diagnostics` records it, for the diagnostic figures.
 */
export function withDiagnostics(subject: PlotSubject): PlotSubject {
  const { nLayers, nHeads } = subject.measurement.model;
  const layers = Array.from({ length: nLayers }, (_, layer) => layer);
  const streams = Array.from({ length: nLayers + 1 }, (_, stream) => stream);
  const summary = (layer: number, center: number, spread: number) => ({
    layer,
    count: 13,
    mean: center,
    std: spread,
    median: center,
    q05: center - 2 * spread,
    q25: center - spread,
    q75: center + spread,
    q95: center + 2 * spread,
    min: center - 3 * spread,
    max: center + 3 * spread,
  });
  const perLayer = (f: (layer: number) => [number, number]) => layers.map((layer) => summary(layer, ...f(layer)));
  const perHead = (f: (layer: number, head: number) => number) => layers.flatMap((layer) => Array.from({ length: nHeads }, (_, head) => f(layer, head)));
  const columns = ['cos_attn_resid_pre_raw', 'cos_attn_resid_pre_centered', 'cos_mlp_resid_mid_raw', 'cos_mlp_resid_mid_centered'];
  const diagnostics = {
    selected: ['cosines', 'massive', 'massive-median', 'massive-sequence', 'sinks', 'heads', 'lens'],
    massiveDims: [7],
    sinkTokens: 4,
    headValueBiases: 'folded',
    columns: [
      ...columns,
      'massive_max',
      'massive_dim',
      'massive_top1_share',
      'massive_top10_share',
      'massive_norm_without',
      'massive_median_ratio',
      'sink_mass',
      'sink_mass_first_4',
      'head_write_raw',
      'head_write_centered',
      'lens_entropy',
      'lens_next_rank',
    ],
    sequenceColumns: ['massive_seq_top1', 'massive_seq_top2', 'massive_seq_top3', 'massive_seq_median', 'massive_seq_ratio', 'massive_seq_count'],
    massiveThresholds: { magnitude: 100, timesMedian: 1000 },
    outputHead: { finalNorm: 'transformer.ln_f', unembedding: 'transformer.wte.weight', tied: true },
    summaries: {
      included: 13,
      perLayer: {
        ...Object.fromEntries(columns.map((name, c) => [name, perLayer((layer) => [0.4 - 0.1 * layer + 0.05 * c, 0.1])])),
        massive_max: perLayer((layer) => [2 + 4 * layer, 0.5]),
        massive_top1_share: perLayer((layer) => [0.1 + 0.1 * layer, 0.01]),
        massive_top10_share: perLayer((layer) => [0.3 + 0.1 * layer, 0.01]),
        massive_norm_without: perLayer((layer) => [10 + layer, 1]),
        massive_median_ratio: perLayer((layer) => [5 + 20 * layer, 2]),
        // The lens: one entry per stream (the embeddings, then after each block), entropy falling as predictions form.
        lens_entropy: streams.map((stream) => summary(stream, 4 - 0.5 * stream, 0.25)),
        lens_next_rank: streams.map((stream) => summary(stream, 40 - 6 * stream, 4)),
      },
      perHeadMeans: {
        sink_mass: perHead((layer, head) => (head === 0 ? 0.2 + 0.1 * layer : 0.05)),
        sink_mass_first_4: perHead((layer, head) => (head === 0 ? 0.3 + 0.1 * layer : 0.15)),
        head_write_raw: perHead((layer, head) => 1 + 0.5 * layer + 0.25 * head),
        head_write_centered: perHead((layer, head) => 0.75 + 0.5 * layer + 0.25 * head),
      },
      massiveDims: {
        included: layers.map((layer) =>
          layer < 2
            ? [
                { dim: 3, share: 0.5 },
                { dim: 11, share: 0.25 },
              ]
            : [
                { dim: 7, share: 0.75 },
                { dim: 3, share: 0.125 },
              ],
        ),
        positionZero: layers.map((layer) => [{ dim: layer < 1 ? 11 : 7, share: 1 }]),
      },
      perHeadTokens: { sink_mass_first_4: 10 },
      positionZeroNorms: { resid_pre_centered: layers.map((layer) => 4 + 3 * layer), resid_pre_raw: layers.map((layer) => 4.5 + 3 * layer) },
      // Sun et al.'s per-sequence statistics: a massive activation appears after block 1 (top 1 far above the median).
      sequences: {
        sequences: 3,
        perLayer: {
          massive_seq_top1: perLayer((layer) => [layer < 1 ? 20 : 400 + 50 * layer, 10]),
          massive_seq_top2: perLayer((layer) => [layer < 1 ? 15 : 150 + 20 * layer, 5]),
          massive_seq_top3: perLayer((layer) => [layer < 1 ? 12 : 30 + 5 * layer, 2]),
          massive_seq_median: perLayer((layer) => [0.3 + 0.05 * layer, 0.01]),
          massive_seq_ratio: perLayer((layer) => [layer < 1 ? 60 : 1200 + 100 * layer, 50]),
          massive_seq_count: perLayer((layer) => [layer < 1 ? 0 : 1, 0]),
        },
        withMassive: layers.map((layer) => (layer < 1 ? 0 : 1)),
      },
      lens: { tokens: 12, top1: streams.map((stream) => stream / 8), top10: streams.map((stream) => 0.25 + stream / 10) },
    },
  };
  return { ...subject, path: 'tiny-diagnostics.json', measurement: { ...subject.measurement, diagnostics } };
}
