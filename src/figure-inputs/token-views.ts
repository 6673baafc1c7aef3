/**
 * What the per-token figures draw, gathered from a results file's tokens in bounded memory
 * before the (pure, synchronous) spec builders run: one streamed pass per view over one norm
 * column (two for histograms: range, then counts), or one prompt's rows. Each view is small:
 * per-layer bins, per-layer quantiles, per-position means.
 */
import { StreamingSummary } from '../analysis/streaming-summary.js';
import type { Measurement } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import { EXCLUSION_CODE, exclusionReason, normColumns, type ExclusionReason } from '../store/result-tables.js';
import type { TokenSource } from '../store/token-source.js';
import {
  BOUND_HOOKS,
  type BoundView,
  type HistogramView,
  type PositionView,
  type RatioView,
  type TokenViewKind,
  type TokenViews,
} from '../figures/token-view-types.js';

/** Bins across the whole range of the drawn layers. */
export const TARGET_BINS = 60;

/** The smallest of 1, 2, 2.5, 5 × 10^k that is at least `raw`. */
export function niceBinWidth(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const factor = [1, 2, 2.5, 5, 10].find((candidate) => candidate * magnitude >= raw * (1 - 1e-9))!;
  return factor * magnitude;
}

/** Shared bins over [low, high] of log10 norms. */
export function histogramBins(low: number, high: number): { binWidth: number; start: number; binCount: number } {
  const binWidth = niceBinWidth(Math.max(high - low, 1e-3) / TARGET_BINS);
  const start = Math.floor(low / binWidth) * binWidth;
  return { binWidth, start, binCount: Math.floor((high - start) / binWidth) + 1 };
}

export async function gatherTokenViews(
  source: TokenSource,
  measurement: Measurement,
  request: { kinds: ReadonlySet<TokenViewKind>; hook: HookName; prompt: number; histogramLayers: number[] },
): Promise<TokenViews> {
  const metric = measurement.options.primaryMetric;
  const { hook } = request;
  const views: TokenViews = { hook, metric };
  // The bound reads its own four hooks, whichever hook the other views draw.
  if (request.kinds.has('bound') && BOUND_HOOKS.every((needed) => measurement.hooks.includes(needed))) views.bound = await gatherBound(source, metric);
  if (!measurement.hooks.includes(hook)) return views;
  if (request.kinds.has('histogram')) {
    views.histogram = await gatherHistogram(source, hook, metric, request.histogramLayers);
    views.histogramLayers = request.histogramLayers;
  }
  if (request.kinds.has('prompt')) {
    views.prompt = await source.promptTokens(request.prompt, hook, metric);
    views.promptIndex = request.prompt;
  }
  if (request.kinds.has('ratios')) views.ratios = await gatherRatios(source, hook, metric);
  if (request.kinds.has('positions')) views.positions = await gatherPositions(source, hook, metric);
  return views;
}

/** Calls `visit(layer, log10 norm)` for every included token's positive norm at the given layers: one pass over the column. */
async function forEachLogNorm(
  source: TokenSource,
  hook: HookName,
  metric: NormMetric,
  layers: readonly number[],
  visit: (layer: number, log10Norm: number) => void,
): Promise<void> {
  const { nLayers } = source;
  for await (const chunk of source.columnChunks(hook, metric)) {
    for (let i = 0; i < chunk.rows; i += 1) {
      if (chunk.excluded[i]) continue;
      for (const layer of layers) {
        const value = chunk.values[i * nLayers + layer]!;
        if (value > 0) visit(layer, Math.log10(value));
      }
    }
  }
}

/** Two passes: the range of the drawn layers (shared bins), then the counts. */
async function gatherHistogram(source: TokenSource, hook: HookName, metric: NormMetric, layers: readonly number[]): Promise<HistogramView> {
  let low = Infinity;
  let high = -Infinity;
  await forEachLogNorm(source, hook, metric, layers, (_, log) => {
    if (log < low) low = log;
    if (log > high) high = log;
  });
  const bins = histogramBins(low, high);
  const counts = new Map(layers.map((layer) => [layer, new Float64Array(Math.max(0, bins.binCount))]));
  if (low <= high) {
    await forEachLogNorm(source, hook, metric, layers, (layer, log) => {
      counts.get(layer)![Math.min(bins.binCount - 1, Math.floor((log - bins.start) / bins.binWidth))]! += 1;
    });
  }
  return { low, high, counts, ...bins };
}

async function gatherRatios(source: TokenSource, hook: HookName, metric: NormMetric): Promise<RatioView> {
  const { nLayers } = source;
  const tokens = Array.from({ length: nLayers }, () => new StreamingSummary());
  const special = new Map<ExclusionReason, StreamingSummary[]>();
  for await (const chunk of source.columnChunks(hook, metric)) {
    for (let i = 0; i < chunk.rows; i += 1) {
      let target = tokens;
      const reason = exclusionReason(chunk.excluded[i]!);
      if (reason !== null) {
        target = special.get(reason) ?? Array.from({ length: nLayers }, () => new StreamingSummary());
        special.set(reason, target);
      }
      for (let layer = 1; layer < nLayers; layer += 1) {
        const norm = chunk.values[i * nLayers + layer]!;
        const previous = chunk.values[i * nLayers + layer - 1]!;
        if (norm > 0 && previous > 0) target[layer]!.add(norm / previous);
      }
    }
  }
  return {
    tokens: tokens.map((summary, layer) => summary.summarize(layer)).filter((summary) => summary.layer > 0 && summary.count > 0),
    special: new Map(
      [...special]
        .sort(([a], [b]) => EXCLUSION_CODE[a] - EXCLUSION_CODE[b])
        .map(([reason, summaries]) => [
          reason,
          summaries.flatMap((summary, layer) => {
            if (layer === 0) return [];
            const { count, median } = summary.summarize(layer); // summarized once: it sorts its values
            return count > 0 ? [{ layer, median }] : [];
          }),
        ]),
    ),
  };
}

async function gatherPositions(source: TokenSource, hook: HookName, metric: NormMetric): Promise<PositionView> {
  const { nLayers } = source;
  let sums = new Float64Array(0);
  let counts = new Float64Array(0);
  let length = 0;
  const special = new Map<ExclusionReason, { sums: Float64Array; counts: Float64Array }>();
  for await (const chunk of source.columnChunks(hook, metric)) {
    for (let i = 0; i < chunk.rows; i += 1) {
      const position = chunk.position[i]!;
      if (position >= length) {
        length = position + 1;
        if (length * nLayers > sums.length) {
          const capacity = Math.max(length, 2 * (sums.length / Math.max(1, nLayers))) * nLayers;
          const grownSums = new Float64Array(capacity);
          const grownCounts = new Float64Array(capacity);
          grownSums.set(sums);
          grownCounts.set(counts);
          sums = grownSums;
          counts = grownCounts;
        }
      }
      const reason = exclusionReason(chunk.excluded[i]!);
      if (reason !== null) {
        const group = special.get(reason) ?? { sums: new Float64Array(nLayers), counts: new Float64Array(nLayers) };
        special.set(reason, group);
        for (let layer = 0; layer < nLayers; layer += 1) {
          group.sums[layer]! += chunk.values[i * nLayers + layer]!;
          group.counts[layer]! += 1;
        }
        continue;
      }
      for (let layer = 0; layer < nLayers; layer += 1) {
        sums[position * nLayers + layer]! += chunk.values[i * nLayers + layer]!;
        counts[position * nLayers + layer]! += 1;
      }
    }
  }
  const ordered = new Map([...special].sort(([a], [b]) => EXCLUSION_CODE[a] - EXCLUSION_CODE[b]));
  return { sums: sums.subarray(0, length * nLayers), counts: counts.subarray(0, length * nLayers), length, special: ordered };
}

/** Relative slack for float32 norms: a sum of three rounded values may exceed the bound by a few ulps. */
const BOUND_TOLERANCE = 1e-5;

async function gatherBound(source: TokenSource, metric: NormMetric): Promise<BoundView> {
  const { nLayers } = source;
  const written = Array.from({ length: nLayers }, () => new StreamingSummary());
  const growth = Array.from({ length: nLayers }, () => new StreamingSummary());
  const columns = normColumns(BOUND_HOOKS, metric); // the primary metric's columns only: half the bytes read
  const column = (hook: HookName) => columns.findIndex((c) => c.hook === hook);
  const [pre, attn, mlp, post] = BOUND_HOOKS.map(column) as [number, number, number, number];
  let violations = 0;
  let checked = 0;
  for await (const sequence of source.sequences(BOUND_HOOKS, metric)) {
    const length = sequence.ids.length;
    const at = (c: number, layer: number, position: number) => sequence.values[sequence.slots[c * nLayers + layer]! * length + position]!;
    for (let position = 0; position < length; position += 1) {
      if (sequence.exclusions[position] !== 0) continue;
      for (let layer = 0; layer < nLayers; layer += 1) {
        const before = at(pre, layer, position);
        if (!(before > 0)) continue;
        const share = (at(attn, layer, position) + at(mlp, layer, position)) / before;
        const grown = at(post, layer, position) / before - 1;
        written[layer]!.add(share);
        growth[layer]!.add(grown);
        checked += 1;
        if (grown > share + BOUND_TOLERANCE * (1 + share)) violations += 1;
      }
    }
  }
  return {
    written: written.map((summary, layer) => summary.summarize(layer)),
    growth: growth.map((summary, layer) => summary.summarize(layer)),
    violations,
    checked,
  };
}
