/**
 * Synthetic results files with known growth, for testing everything downstream of `measure`
 * (fit, plot, report) without running a model.
 *
 * Norm of token t in sequence s at layer l:
 *   scale · growth(l)^… · exp(sequenceEffect_s + walk_{s,l} + tokenNoise_{s,t,l})
 * where growth is piecewise: `phases` gives per-layer growth factors between breakpoints, and
 * walk_{s,l} (0 unless `sequenceWalk` is set) is a per-sequence random walk over layers: each
 * prompt grows at its own slightly random pace, which correlates a layer statistic's errors
 * across layers as in real models.
 * Position 0 is BOS with a flat, much larger norm (as in real models).
 */
import { createHash } from 'node:crypto';
import { MEASUREMENT_FORMAT, type MeasurementV1, type SequenceResult } from '../../src/results/schema.js';
import type { HookName } from '../../src/vocabulary/hooks.js';
import { summarizeHook } from '../../src/analysis/norm-statistics.js';
import { createRandom } from './random.js';

export interface SyntheticPhase {
  /** First layer of this phase (the first phase must start at 0). */
  fromLayer: number;
  /** Growth factor per layer inside the phase. */
  growth: number;
}

export interface SyntheticOptions {
  nLayers?: number;
  dModel?: number;
  sequences?: number;
  tokensPerSequence?: number;
  hooks?: HookName[];
  phases?: SyntheticPhase[];
  /** Standard deviation of ln(norm) shared by all tokens of one sequence. */
  sequenceNoise?: number;
  /** Standard deviation of ln(norm) per token and layer. */
  tokenNoise?: number;
  /** Standard deviation of each layer's step of the per-sequence random walk of ln(norm); 0 = none. */
  sequenceWalk?: number;
  scale?: number;
  seed?: number;
  modelId?: string;
}

/** ln(norm) trend at each layer for the given phases. */
export function logTrend(nLayers: number, phases: SyntheticPhase[], scale: number): number[] {
  const trend: number[] = [];
  let value = Math.log(scale);
  for (let layer = 0; layer < nLayers; layer += 1) {
    if (layer > 0) {
      const phase = [...phases].reverse().find((p) => p.fromLayer <= layer)!;
      value += Math.log(phase.growth);
    }
    trend.push(value);
  }
  return trend;
}

/** A version-1 document (values inline); `fileOf` in ./measured.ts turns it into a results file. */
export function syntheticMeasurement(options: SyntheticOptions = {}): MeasurementV1 {
  const {
    nLayers = 12,
    dModel = 64,
    sequences: sequenceCount = 8,
    tokensPerSequence = 10,
    hooks = ['resid_pre', 'resid_mid', 'resid_post', 'attn_out', 'mlp_out'],
    phases = [{ fromLayer: 0, growth: 1.05 }],
    sequenceNoise = 0.05,
    tokenNoise = 0.1,
    sequenceWalk = 0,
    scale = 10,
    seed = 1,
    modelId = 'synthetic/gpt2-like',
  } = options;
  const random = createRandom(seed);
  const trend = logTrend(nLayers, phases, scale);
  const hookOffset: Record<HookName, number> = { resid_pre: 0, resid_mid: 0.02, resid_post: 0.04, attn_out: -1, mlp_out: -0.7 };

  const sequences: SequenceResult[] = [];
  for (let s = 0; s < sequenceCount; s += 1) {
    const sequenceEffect = sequenceNoise * random.normal();
    const ids = [50256, ...Array.from({ length: tokensPerSequence - 1 }, () => random.integer(50000))];
    // Drawn only when asked for, so files made without it keep their numbers.
    const walk = [0];
    for (let layer = 1; layer < nLayers; layer += 1) walk.push(walk[layer - 1]! + (sequenceWalk > 0 ? sequenceWalk * random.normal() : 0));
    const sequence: SequenceResult = { text: `synthetic prompt ${s}`, ids, tokens: ids.map((id) => `t${id}`), norms: {}, rawNorms: {} };
    for (const hook of hooks) {
      const centered: number[][] = [];
      const raw: number[][] = [];
      for (let layer = 0; layer < nLayers; layer += 1) {
        const row = ids.map((_, position) =>
          position === 0
            ? 3000 * Math.exp(0.01 * random.normal())
            : Math.exp(trend[layer]! + hookOffset[hook] + sequenceEffect + walk[layer]! + tokenNoise * random.normal()),
        );
        centered.push(row);
        raw.push(row.map((value) => value * 1.01));
      }
      sequence.norms[hook] = centered;
      sequence.rawNorms[hook] = raw;
    }
    sequences.push(sequence);
  }

  const tokens = sequenceCount * tokensPerSequence;
  const measurement: MeasurementV1 = {
    format: MEASUREMENT_FORMAT,
    version: 1,
    model: {
      id: modelId,
      revision: null,
      architecture: 'gpt2',
      nLayers,
      dModel,
      nHeads: 4,
      dtype: 'F32',
      nCtx: 1024,
      dVocab: 50257,
      bosTokenId: 50256,
      normalization: 'layernorm',
      parallelResidual: false,
    },
    prompts: { source: 'synthetic', sha256: createHash('sha256').update(`synthetic-${seed}`).digest('hex'), count: sequenceCount },
    options: { prependBos: true, excludePositions: [0], primaryMetric: 'centered', primaryMetricReason: 'synthetic' },
    runtime: { device: 'cpu', threads: 1, seconds: 1, tokens, tokensPerSecond: tokens },
    hooks,
    sequences,
    summary: {},
  };
  measurement.summary = summarizeV1(measurement);
  return measurement;
}

/** The primary metric's summary of a version-1 document, as `measure` wrote it. */
export function summarizeV1(measurement: MeasurementV1): MeasurementV1['summary'] {
  const { nLayers } = measurement.model;
  const { primaryMetric, excludePositions } = measurement.options;
  return Object.fromEntries(measurement.hooks.map((hook) => [hook, summarizeHook(measurement.sequences, hook, primaryMetric, nLayers, excludePositions)]));
}
