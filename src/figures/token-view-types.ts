/**
 * What the per-token figures draw (src/figure-inputs/token-views.ts gathers it from a results
 * file's tokens before the pure spec builders run): per-layer bins, per-layer quantiles,
 * per-position means, each small whatever the number of tokens.
 */
import type { LayerSummary } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { ExclusionReason } from '../store/result-tables.js';
import type { PromptTokens } from '../store/token-source.js';

export const TOKEN_VIEWS = ['histogram', 'prompt', 'ratios', 'positions', 'bound'] as const;
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
  /** Why tokens were excluded → per-layer median ratio of those tokens. */
  special: Map<ExclusionReason, Array<{ layer: number; median: number }>>;
}

export interface PositionView {
  /** [position × nLayers] sums and counts of the included tokens' norms over prompts. */
  sums: Float64Array;
  counts: Float64Array;
  /** Longest sequence. */
  length: number;
  /** Why tokens were excluded → [nLayers] sums and counts of their norms. */
  special: Map<ExclusionReason, { sums: Float64Array; counts: Float64Array }>;
}

/**
 * The per-token triangle bound of a block, ‖resid_post‖ ≤ ‖resid_pre‖ + ‖attn_out‖ + ‖mlp_out‖:
 * per layer, the written share (‖attn_out‖ + ‖mlp_out‖) / ‖resid_pre‖ against the growth the
 * token got, ‖resid_post‖ / ‖resid_pre‖ − 1, which it bounds from above.
 */
export interface BoundView {
  /** Per layer: summaries over included tokens of the written share and of the growth − 1. */
  written: LayerSummary[];
  growth: LayerSummary[];
  /** Tokens and layers where the bound fails by more than float32 rounding (it cannot, exactly). */
  violations: number;
  checked: number;
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
  bound?: BoundView;
}

/** The hooks of the bound, in the order the bound's view reads them. */
export const BOUND_HOOKS: readonly HookName[] = ['resid_pre', 'attn_out', 'mlp_out', 'resid_post'];
