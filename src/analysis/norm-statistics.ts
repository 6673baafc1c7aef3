/**
 * Per-layer statistics of per-token norms held in memory: exact quantiles, and the summaries of
 * version-1 results files (whose sequences are inline). Their excluded positions are left out
 * here, in one place (forEachIncluded), for these summaries and for the fits' layer pools
 * (layer-statistic.ts).
 */
import type { LayerSummary, SequenceResult } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';

/** Linear-interpolation quantile (numpy's default) of an ascending array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export function summarizeValues(layer: number, values: ArrayLike<number>): LayerSummary {
  const sorted = Float64Array.from(values).sort();
  const count = sorted.length;
  let sum = 0;
  for (const value of sorted) sum += value;
  const mean = count > 0 ? sum / count : Number.NaN;
  let squares = 0;
  for (const value of sorted) squares += (value - mean) ** 2;
  return {
    layer,
    count,
    mean,
    std: count > 0 ? Math.sqrt(squares / count) : Number.NaN,
    median: quantileSorted(sorted, 0.5),
    q05: quantileSorted(sorted, 0.05),
    q25: quantileSorted(sorted, 0.25),
    q75: quantileSorted(sorted, 0.75),
    q95: quantileSorted(sorted, 0.95),
    min: count > 0 ? sorted[0]! : Number.NaN,
    max: count > 0 ? sorted[count - 1]! : Number.NaN,
  };
}

/** The [layer][position] table of one sequence for a hook and metric, if measured. */
export function sequenceTable(sequence: SequenceResult, hook: HookName, metric: NormMetric): number[][] | undefined {
  return (metric === 'centered' ? sequence.norms : sequence.rawNorms)[hook];
}

/** Each value of one layer with the index of its sequence, sequence by sequence, excluded positions left out. */
export function forEachIncluded(
  sequences: readonly SequenceResult[],
  hook: HookName,
  metric: NormMetric,
  layer: number,
  excludePositions: readonly number[],
  visit: (value: number, sequence: number) => void,
): void {
  const excluded = new Set(excludePositions);
  sequences.forEach((sequence, index) => {
    sequenceTable(sequence, hook, metric)?.[layer]?.forEach((value, position) => {
      if (!excluded.has(position)) visit(value, index);
    });
  });
}

/** Values of one layer over the given sequences, excluded positions left out. */
export function layerValues(
  sequences: readonly SequenceResult[],
  hook: HookName,
  metric: NormMetric,
  layer: number,
  excludePositions: readonly number[],
): number[] {
  const values: number[] = [];
  forEachIncluded(sequences, hook, metric, layer, excludePositions, (value) => values.push(value));
  return values;
}

export function summarizeHook(
  sequences: readonly SequenceResult[],
  hook: HookName,
  metric: NormMetric,
  nLayers: number,
  excludePositions: readonly number[],
): LayerSummary[] {
  return Array.from({ length: nLayers }, (_, layer) => summarizeValues(layer, layerValues(sequences, hook, metric, layer, excludePositions)));
}
