/**
 * The per-layer statistic (mean, median or geometric mean over tokens) that growth fits start from, computed
 * from per-sequence data so that a bootstrap over prompts can recompute it many times: a
 * resample is a vector of integer weights (how often each sequence was drawn), and each
 * statistic is evaluated under those weights without copying any token values.
 */
import type { LayerStatistic } from '../results/fit-schema.js';
import type { SequenceResult } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import { forEachIncluded } from './norm-statistics.js';

export { LAYER_STATISTICS, type LayerStatistic } from '../results/fit-schema.js';

/** The token values of one layer, grouped by sequence. */
export interface LayerPool {
  layer: number;
  /** [sequence] sum of the layer's included values, and of their natural logs (for the geometric mean). */
  sums: Float64Array;
  logSums: Float64Array;
  /** [sequence] number of included values. */
  counts: Float64Array;
  /** All included values, ascending, and the sequence each came from; for medians (empty for means). */
  sortedValues: Float32Array | Float64Array;
  sortedSequence: Int32Array;
}

export function buildLayerPool(
  sequences: readonly SequenceResult[],
  hook: HookName,
  metric: NormMetric,
  layer: number,
  excludePositions: readonly number[],
): LayerPool {
  const sums = new Float64Array(sequences.length);
  const logSums = new Float64Array(sequences.length);
  const counts = new Float64Array(sequences.length);
  const values: number[] = [];
  const owners: number[] = [];
  forEachIncluded(sequences, hook, metric, layer, excludePositions, (value, index) => {
    sums[index]! += value;
    logSums[index]! += Math.log(value);
    counts[index]! += 1;
    values.push(value);
    owners.push(index);
  });
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  return {
    layer,
    sums,
    logSums,
    counts,
    sortedValues: Float64Array.from(order, (i) => values[i]!),
    sortedSequence: Int32Array.from(order, (i) => owners[i]!),
  };
}

/**
 * The statistic of one layer with each sequence counted `weights[s]` times (all ones when
 * omitted). The median interpolates linearly between the two middle values, as
 * `quantileSorted` does, so unit weights reproduce the results file's summary exactly.
 * NaN when no value is included.
 */
export function evaluateLayerStatistic(pool: LayerPool, stat: LayerStatistic, weights?: Float64Array): number {
  const weightOf = (sequence: number): number => (weights === undefined ? 1 : weights[sequence]!);
  let total = 0;
  let sum = 0;
  const sums = stat === 'geomean' ? pool.logSums : pool.sums;
  for (let s = 0; s < pool.counts.length; s += 1) {
    total += weightOf(s) * pool.counts[s]!;
    sum += weightOf(s) * sums[s]!;
  }
  if (total === 0) return Number.NaN;
  if (stat === 'mean') return sum / total;
  if (stat === 'geomean') return Math.exp(sum / total);
  const lowerRank = Math.floor((total - 1) / 2);
  const upperRank = Math.ceil((total - 1) / 2);
  let lower = Number.NaN;
  let cumulative = 0;
  for (let i = 0; i < pool.sortedValues.length; i += 1) {
    cumulative += weightOf(pool.sortedSequence[i]!);
    if (Number.isNaN(lower) && cumulative > lowerRank) lower = pool.sortedValues[i]!;
    if (cumulative > upperRank) return (lower + pool.sortedValues[i]!) / 2;
  }
  return Number.NaN; // unreachable: cumulative reaches total > upperRank
}
