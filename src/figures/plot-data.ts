/**
 * Data helpers shared by the figure builders: which hook a figure draws and whether it was
 * measured, per-layer summaries, and rounding. Figures aggregate here, before Vega sees the
 * data, so a GPT2-XL-sized file plots in seconds.
 */
import type { LayerSummary, Measurement } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { FigureOptions } from './figure-types.js';
import type { PositionChannel } from './spec-types.js';

/** Hook of the single-hook figures when --hook is not given (the reference analysis's choice). */
export const DEFAULT_HOOK: HookName = 'resid_pre';

export function chosenHook(options: FigureOptions, fallback: HookName = DEFAULT_HOOK): HookName {
  return options.hook ?? fallback;
}

/** Why `hook` cannot be drawn from this file, or undefined when it can. */
export function missingHookReason(measurement: Measurement, hook: HookName): string | undefined {
  if (measurement.hooks.includes(hook)) return undefined;
  const { id, parallelResidual } = measurement.model;
  if (hook === 'resid_mid' && parallelResidual === true) {
    return `${id} is a parallel-residual model (attention and MLP read the same input), so it has no resid_mid`;
  }
  return `${id} has no ${hook} measurements (measured: ${measurement.hooks.join(', ')})`;
}

export function primaryMetric(measurement: Measurement): NormMetric {
  return measurement.options.primaryMetric;
}

/** Per-layer statistics of the primary metric, excluded tokens left out. */
export function hookSummaries(measurement: Measurement, hook: HookName): LayerSummary[] {
  return measurement.summaries[primaryMetric(measurement)][hook] ?? measurement.summary[hook] ?? [];
}

/** Six significant digits: far finer than a figure shows, and keeps specs small and stable. */
export function roundValue(value: number): number {
  return Number(value.toPrecision(6));
}

/** Layers 0, s, 2s, … with s = min(5, ⌈nLayers/10⌉): every 5th layer of a big model, ~10 curves. */
export function everyNthLayer(nLayers: number): number[] {
  const stride = Math.min(5, Math.ceil(nLayers / 10));
  const layers: number[] = [];
  // Deep models (stride 5) get the reference analysis's layers: 5, 10, … (5–45 for GPT2-XL).
  for (let layer = stride === 5 ? 5 : 0; layer < nLayers; layer += stride) layers.push(layer);
  return layers;
}

/** x-axis encoding for a layer index. */
export function layerAxis(nLayers: number, title = 'layer'): PositionChannel {
  return {
    field: 'layer',
    type: 'quantitative',
    title,
    scale: { domain: [0, Math.max(1, nLayers - 1)], nice: false },
    axis: { tickMinStep: 1, format: 'd' },
  };
}
