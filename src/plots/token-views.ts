/**
 * What the per-token figures draw, gathered from a results file's tokens in bounded memory
 * before the (pure, synchronous) spec builders run: one streamed pass per view over one norm
 * column (two for histograms: range, then counts), or one prompt's rows. Each view is small:
 * per-layer bins, per-layer quantiles, per-position means.
 */
import { StreamingSummary } from '../analysis/streaming-summary.js';
import type { HookName, LayerSummary, Measurement, NormMetric } from '../results/schema.js';
import type { PromptTokens, TokenSource } from '../store/token-source.js';

export const TOKEN_VIEWS = ['histogram', 'prompt', 'ratios', 'positions'] as const;
export type TokenViewKind = (typeof TOKEN_VIEWS)[number];

/** log10-norm bins of the drawn layers: counts[layer][bin]. */
export interface HistogramView {
  low: number;
  high: number;
  /** Included tokens with a positive norm, per drawn layer, by bin of `binOf`. */
  counts: Map<number, Float64Array>;
  binWidth: number;
  start: number;
  binCount: number;
}

export interface RatioView {
  /** Layer ≥ 1 → summary of the included tokens' ratios ‖x_l‖ / ‖x_{l−1}‖. */
  tokens: LayerSummary[];
  /** Excluded position → per-layer median ratio. */
  special: Map<number, Array<{ layer: number; median: number }>>;
}

export interface PositionView {
  /** [position × nLayers] sums and counts of the norm over prompts. */
  sums: Float64Array;
  counts: Float64Array;
  /** Longest sequence. */
  length: number;
  /** Positions excluded in some sequence. */
  excluded: Set<number>;
}

/** Gathered views, for the hook and metric the figures draw. */
export interface TokenViews {
  hook: HookName;
  metric: NormMetric;
  histogram?: HistogramView;
  /** Layers drawn by the histogram. */
  histogramLayers?: number[];
  prompt?: PromptTokens | undefined;
  promptIndex?: number;
  ratios?: RatioView;
  positions?: PositionView;
}

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
async function forEachLogNorm(source: TokenSource, hook: HookName, metric: NormMetric, layers: readonly number[], visit: (layer: number, log10Norm: number) => void): Promise<void> {
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
  const special = new Map<number, StreamingSummary[]>();
  for await (const chunk of source.columnChunks(hook, metric)) {
    for (let i = 0; i < chunk.rows; i += 1) {
      let target = tokens;
      if (chunk.excluded[i]) {
        const position = chunk.position[i]!;
        target = special.get(position) ?? Array.from({ length: nLayers }, () => new StreamingSummary());
        special.set(position, target);
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
      [...special].sort(([a], [b]) => a - b).map(([position, summaries]) => [
        position,
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
  const excluded = new Set<number>();
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
      if (chunk.excluded[i]) excluded.add(position);
      for (let layer = 0; layer < nLayers; layer += 1) {
        sums[position * nLayers + layer] += chunk.values[i * nLayers + layer]!;
        counts[position * nLayers + layer] += 1;
      }
    }
  }
  return { sums: sums.subarray(0, length * nLayers), counts: counts.subarray(0, length * nLayers), length, excluded };
}
