/**
 * The data of figure 9 (DESIGN.md): per layer, the norms of the weights that write to the
 * residual stream — ‖W_OV^h‖ per head and for the layer, ‖b_O‖, ‖W_in‖, ‖W_out‖, ‖b_out‖ — next
 * to the mean norms of what the blocks write, attn_out and mlp_out, when a results file of the
 * same model is given. Pure: a weights file (and optionally a measurement) in, rows out; the
 * Vega-Lite spec that draws them belongs with the other figure builders.
 */
import { presentSeries, weightSeries } from '../analysis/weight-series.js';
import { InputError } from '../errors.js';
import type { Measurement } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { WeightSeriesName, WeightVariant, WeightsFile } from '../results/weights-schema.js';

export type WritingPanel = 'attention' | 'mlp';

export interface WritingWeightsRow {
  panel: WritingPanel;
  /** W_OV, W_OV head, b_O, W_in, W_out, b_out, attn_out, mlp_out. */
  quantity: string;
  kind: 'weight' | 'head' | 'bias' | 'activation';
  layer: number;
  /** Query head, for `W_OV head` rows. */
  head?: number;
  value: number;
}

export interface WritingWeightsData {
  model: string;
  variant: WeightVariant;
  /** Norm metric of the activation rows (the measurement's primary metric); absent without a measurement. */
  metric?: NormMetric;
  rows: WritingWeightsRow[];
  /** What could not be drawn and why (said, never invented). */
  notes: string[];
}

const WEIGHT_ROWS: ReadonlyArray<{ panel: WritingPanel; series: WeightSeriesName; kind: 'weight' | 'bias' }> = [
  { panel: 'attention', series: 'W_OV', kind: 'weight' },
  { panel: 'attention', series: 'b_O', kind: 'bias' },
  { panel: 'mlp', series: 'W_in', kind: 'weight' },
  { panel: 'mlp', series: 'W_out', kind: 'weight' },
  { panel: 'mlp', series: 'b_out', kind: 'bias' },
  // The reference analysis's MLP appendix: the MLP without its nonlinearity, and what b_in writes through W_out.
  { panel: 'mlp', series: 'W_inW_out', kind: 'weight' },
  { panel: 'mlp', series: 'b_inW_out', kind: 'bias' },
];

/** The weight series the figure draws, in drawing order. */
export const WRITING_WEIGHT_SERIES: readonly WeightSeriesName[] = WEIGHT_ROWS.map(({ series }) => series);

const ACTIVATION_ROWS: ReadonlyArray<{ panel: WritingPanel; hook: HookName }> = [
  { panel: 'attention', hook: 'attn_out' },
  { panel: 'mlp', hook: 'mlp_out' },
];

export function writingWeightsData(
  weights: WeightsFile,
  measurement?: Measurement,
  variant: WeightVariant = weights.options.primaryVariant,
): WritingWeightsData {
  const rows: WritingWeightsRow[] = [];
  const notes: string[] = [];
  const present = presentSeries(weights, variant);
  for (const { panel, series, kind } of WEIGHT_ROWS) {
    if (!present.includes(series)) {
      const older =
        (series === 'W_inW_out' || series === 'b_inW_out') && weights.layers.some((layer) => (layer[variant] as Record<string, unknown>)[series] === undefined);
      notes.push(`${weights.model.id} has no ${series} (${older ? 'the weights file predates it' : 'no such tensor'}), so it is not drawn`);
      continue;
    }
    weightSeries(weights, series, variant).forEach((value, layer) => rows.push({ panel, quantity: series, kind, layer, value }));
  }
  for (const layer of weights.layers) {
    layer.heads[variant].W_OV.forEach((value, head) => rows.push({ panel: 'attention', quantity: 'W_OV head', kind: 'head', layer: layer.layer, head, value }));
  }
  if (measurement === undefined) return { model: weights.model.id, variant, rows, notes };

  checkSameModel(weights, measurement);
  if (measurement.model.id !== weights.model.id) notes.push(`weights of ${weights.model.id} shown with activations measured on ${measurement.model.id}`);
  const metric = measurement.options.primaryMetric;
  for (const { panel, hook } of ACTIVATION_ROWS) {
    if (!measurement.hooks.includes(hook)) {
      notes.push(`${measurement.model.id} has no ${hook} measurements (measured: ${measurement.hooks.join(', ')})`);
      continue;
    }
    const summaries = measurement.summaries[metric][hook] ?? [];
    for (const summary of summaries) {
      if (summary.count > 0 && summary.mean > 0) rows.push({ panel, quantity: hook, kind: 'activation', layer: summary.layer, value: summary.mean });
    }
  }
  return { model: weights.model.id, variant, metric, rows, notes };
}

/** Weights and activations must come from the same shape of model; ids may differ (alias vs folder). */
export function checkSameModel(weights: WeightsFile, measurement: Measurement): void {
  const keys = ['architecture', 'nLayers', 'dModel', 'nHeads'] as const;
  const different = keys.filter((key) => weights.model[key] !== measurement.model[key]);
  if (different.length > 0) {
    const describe = (model: Record<(typeof keys)[number], unknown>) => different.map((key) => `${key} ${String(model[key])}`).join(', ');
    throw new InputError(
      `the weights (${weights.model.id}: ${describe(weights.model)}) and the measurement (${measurement.model.id}: ${describe(measurement.model)}) are not of the same model; give files of one model`,
    );
  }
}
