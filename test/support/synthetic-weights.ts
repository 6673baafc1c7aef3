/**
 * Weights files with chosen per-layer values, for testing what reads them (fit, figures)
 * without a model: every norm is 1 unless `values` says otherwise.
 */
import {
  WEIGHTS_FORMAT,
  WEIGHTS_VERSION,
  type WeightLayer,
  type WeightSeriesName,
  type WeightVariant,
  type WeightsFile,
} from '../../src/results/weights-schema.js';

export interface SyntheticWeightsOptions {
  nLayers?: number;
  nHeads?: number;
  nKvHeads?: number;
  mlp?: 'dense' | 'gated';
  /** value(layer) per variant and series; e.g. { processed: { W_OV: (l) => 2 * 1.1 ** l } }. */
  values?: Partial<Record<WeightVariant, Partial<Record<WeightSeriesName, (layer: number) => number | null>>>>;
  /** Per-head W_OV (both variants) as value(layer, head). */
  headOv?: (layer: number, head: number) => number;
}

export function syntheticWeights(options: SyntheticWeightsOptions = {}): WeightsFile {
  const { nLayers = 8, nHeads = 4, nKvHeads = nHeads, mlp = 'dense' } = options;
  const gate = mlp === 'gated' ? { W_gate: 1, b_gate: null } : {};
  const layers: WeightLayer[] = Array.from({ length: nLayers }, (_, layer) => {
    const norms = { W_Q: 1, W_K: 1, W_V: 1, W_O: 1, W_OV: 1, b_O: 1, W_in: 1, ...gate, W_out: 1, b_in: 1, b_out: 1 };
    const heads = {
      W_Q: new Array<number>(nHeads).fill(0.5),
      W_K: new Array<number>(nKvHeads).fill(0.5),
      W_V: new Array<number>(nKvHeads).fill(0.5),
      W_O: new Array<number>(nHeads).fill(0.5),
      W_OV: Array.from({ length: nHeads }, (_, head) => options.headOv?.(layer, head) ?? 0.5),
    };
    const entry: WeightLayer = {
      layer,
      raw: { ...norms, 'ln1.w': 1, 'ln1.w_mean': 1, 'ln1.b': 1, 'ln2.w': 1, 'ln2.w_mean': 1, 'ln2.b': 1 },
      processed: { ...norms },
      heads: { raw: heads, processed: structuredClone(heads) },
    };
    for (const variant of ['raw', 'processed'] as const) {
      for (const [name, value] of Object.entries(options.values?.[variant] ?? {})) (entry[variant] as Record<string, number | null>)[name] = value(layer);
    }
    return entry;
  });
  return {
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_VERSION,
    model: {
      id: 'synthetic',
      revision: null,
      architecture: 'gpt2',
      nLayers,
      dModel: 16,
      nHeads,
      dtype: 'F32',
      normalization: 'layernorm',
      nKvHeads,
      dHead: 4,
      dMlp: 64,
      mlp,
    },
    options: {
      primaryVariant: 'processed',
      primaryVariantReason: 'test',
      processing: { foldNormGains: true, foldNormBiases: true, centerReadingWeights: true, centerWritingWeights: true, foldValueBiases: true },
    },
    runtime: { seconds: 0, bytesRead: 0 },
    layers,
  };
}
