/**
 * Exponential growth of norms over layers: least squares of ln(statistic) on layer, where the
 * statistic is the mean or median over tokens of one hook's norms at each layer; with a
 * regression interval, a bootstrap interval over prompts, and phases of piecewise growth.
 * Reads only a results file; never the model.
 */
import { InputError, UsageError, quote } from '../errors.js';
import type { FitMethod, GrowthFit, GrowthPhase, MethodEstimate } from '../results/fit-schema.js';
import type { Measurement } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import { bootstrapSlopes, endpointSlope, percentileInterval, standardDeviation, type BootstrapSlopes } from './growth-bootstrap.js';
import { judgeShape } from './fit-shape.js';
import { PrefixSums, type LineFit } from './least-squares.js';
import { evaluateLayerStatistic, type LayerPool, type LayerStatistic } from './layer-statistic.js';
import { PARAMETERS_PER_SEGMENT, maxFeasibleSegments, segmentLine, type Segment } from './phase-segmentation.js';
import { studentTCritical } from './student-t.js';

export type { CiMethod, FitMethod, GrowthFit, GrowthPhase } from '../results/fit-schema.js';
export type { LayerStatistic } from './layer-statistic.js';

export interface FitGrowthOptions {
  hook: HookName;
  /** Default: the file's primary metric. */
  metric?: NormMetric;
  /** Default: mean. */
  stat?: LayerStatistic;
  /** The headline estimator; both are always computed. Default: ols. */
  method?: FitMethod;
  /** Inclusive range; default: every layer of the model. */
  fromLayer?: number;
  toLayer?: number;
  /** Bootstrap resamples of the prompts; 0 switches the bootstrap off. Default 1000. */
  bootstrap?: number;
  /** Seed of the bootstrap's generator. Default 1. */
  seed?: number;
  /** Force this many phases instead of choosing by BIC. */
  segments?: number;
  /** Fewest layers in one phase (≥ 3). Default 4. */
  minSegment?: number;
  /** Most phases BIC may choose. Default 5. */
  maxSegments?: number;
  /** Named in error messages; default: the model id. */
  label?: string;
}

export const FIT_DEFAULTS = { stat: 'mean', method: 'ols', bootstrap: 1000, seed: 1, minSegment: 4, maxSegments: 5 } as const;
export const CONFIDENCE = 0.95;
/** A line through two points always fits exactly: a fit needs at least three. */
export const MIN_FIT_LAYERS = 3;

/**
 * Fit one hook of a results file. `pools` hold the per-layer values by prompt (see
 * src/store/layer-pools.ts) for every layer in the range; without them the file's summary of
 * its primary metric is fitted, with the regression interval only.
 */
export function fitGrowth(measurement: Measurement, options: FitGrowthOptions, pools?: readonly LayerPool[]): GrowthFit {
  const label = options.label ?? measurement.model.id;
  const { hook } = options;
  const metric = options.metric ?? measurement.options.primaryMetric;
  const stat = options.stat ?? FIT_DEFAULTS.stat;
  const samples = options.bootstrap ?? FIT_DEFAULTS.bootstrap;
  const seed = options.seed ?? FIT_DEFAULTS.seed;
  const layers = fitLayers(measurement, options, label);
  const data = pools === undefined ? summaryLayerData(measurement, hook, metric, stat, layers, label) : poolLayerData(pools, stat);
  checkPositive(data.values, layers, `${label} ${hook} ${metric} ${stat}`);

  const { evaluate } = data;
  const sequenceCount = pools?.[0]?.counts.length ?? 0;
  const resampling: FitResampling | undefined =
    samples > 0 && evaluate !== undefined && data.drawable.length >= 2
      ? {
          samples,
          seed,
          resample: (segments) => bootstrapSlopes({ evaluate, sequenceCount, drawable: data.drawable, layers, segments, samples, seed, label }),
        }
      : undefined;
  const fit = fitLogLinear(layers, data.values, options, label, resampling);
  return {
    model: measurement.model.id,
    hook,
    metric,
    stat,
    fromLayer: layers[0]!,
    toLayer: layers[layers.length - 1]!,
    values: data.values,
    sequences: data.sequences,
    tokensPerLayer: data.tokensPerLayer,
    ...fit,
  };
}

/** The layers a fit covers, after checking the hook and the range (cheap, before any data is read). */
export function fitLayers(
  measurement: Measurement,
  options: Pick<FitGrowthOptions, 'hook' | 'fromLayer' | 'toLayer' | 'label'>,
  label = options.label ?? measurement.model.id,
): number[] {
  if (!measurement.hooks.includes(options.hook)) {
    throw new UsageError(`${label} has no hook ${quote(options.hook)}; hooks present: ${measurement.hooks.join(', ')}`);
  }
  const { fromLayer, toLayer } = resolveLayerRange(measurement.model.nLayers, options, label);
  return Array.from({ length: toLayer - fromLayer + 1 }, (_, i) => fromLayer + i);
}

/** What a growth fit says that depends only on the per-layer values: line, intervals, phases. */
export type LogLinearFit = Pick<
  GrowthFit,
  | 'method'
  | 'growth'
  | 'intercept'
  | 'r2'
  | 'confidence'
  | 'ciLow'
  | 'ciHigh'
  | 'ciMethod'
  | 'regression'
  | 'bootstrap'
  | 'phases'
  | 'segmentation'
  | 'methods'
  | 'shape'
>;

/** A bootstrap of the fit: `resample` refits resampled data with the given phase breakpoints. */
export interface FitResampling {
  samples: number;
  seed: number;
  resample: (segments: readonly Segment[]) => BootstrapSlopes;
}

/**
 * Least squares of ln(value) on layer over positive `values` (one per entry of `layers`),
 * with its regression interval, phases, and — when `resampling` is given — bootstrap intervals.
 * Shared by activation norms (fitGrowth) and weight norms (fitWeightGrowth).
 */
export function fitLogLinear(
  layers: readonly number[],
  values: readonly number[],
  options: Pick<FitGrowthOptions, 'segments' | 'minSegment' | 'maxSegments' | 'method'>,
  label: string,
  resampling?: FitResampling,
): LogLinearFit {
  const method = options.method ?? FIT_DEFAULTS.method;
  const sums = new PrefixSums(layers, values.map(Math.log));
  const line = sums.fit(0, layers.length);
  const segmentation = segmentLine(sums, layers.length, resolveSegmentation(layers.length, options, label));
  const segmentLines = segmentation.segments.map((segment) => sums.fit(segment.start, segment.end));

  const resampled = resampling?.resample(segmentation.segments);
  const regression = regressionInterval(line);
  const bootstrap =
    resampling === undefined || resampled === undefined
      ? null
      : {
          ...growthInterval(resampled.overall),
          samples: resampling.samples,
          seed: resampling.seed,
          method: 'percentile' as const,
          slopeStdError: standardDeviation(resampled.overall),
        };
  const endpoints = endpointSlope(layers, values);
  const methods: Record<FitMethod, MethodEstimate> = {
    ols: {
      growth: Math.exp(line.slope),
      intercept: line.intercept,
      ...pickInterval(bootstrap ?? regression),
      ciMethod: bootstrap === null ? 'regression' : 'bootstrap',
    },
    endpoints: {
      growth: Math.exp(endpoints),
      intercept: Math.log(values[0]!) - endpoints * layers[0]!,
      ...(resampled === undefined
        ? { ciLow: Math.exp(endpoints), ciHigh: Math.exp(endpoints), ciMethod: 'none' as const }
        : { ...growthInterval(resampled.endpoints), ciMethod: 'bootstrap' as const }),
    },
  };
  const headline = methods[method];
  const phases: GrowthPhase[] = segmentation.segments.map((segment, k) => ({
    fromLayer: layers[segment.start]!,
    toLayer: layers[segment.end - 1]!,
    growth: Math.exp(segmentLines[k]!.slope),
    intercept: segmentLines[k]!.intercept,
    r2: segmentLines[k]!.r2,
    ...(resampled === undefined
      ? { ...pickInterval(regressionInterval(segmentLines[k]!)), ciMethod: 'regression' as const }
      : { ...growthInterval(resampled.segments[k]!), ciMethod: 'bootstrap' as const }),
  }));

  return {
    method,
    growth: headline.growth,
    intercept: headline.intercept,
    r2: line.r2,
    confidence: CONFIDENCE,
    ...pickInterval(headline),
    ciMethod: headline.ciMethod,
    regression,
    bootstrap,
    phases,
    segmentation: {
      criterion: 'bic',
      parametersPerSegment: PARAMETERS_PER_SEGMENT,
      forced: segmentation.forced,
      minSegment: Math.min(options.minSegment ?? FIT_DEFAULTS.minSegment, layers.length),
      maxSegments: options.maxSegments ?? FIT_DEFAULTS.maxSegments,
      scores: segmentation.scores,
    },
    methods,
    shape: judgeShape({ phases, r2: line.r2, growth: Math.exp(line.slope) }, layers, values),
  };
}

interface LayerData {
  /** [layer in range] the statistic. */
  values: number[];
  /** Prompts behind the values. */
  sequences: number;
  tokensPerLayer: number;
  /** Sequences with tokens in the range: the units the bootstrap draws. */
  drawable: number[];
  /** The statistic under sequence weights; absent when the file has no per-sequence data. */
  evaluate?: (weights: Float64Array) => number[];
}

/** A file's summary of its primary metric: enough for the fit and its regression interval. */
function summaryLayerData(
  measurement: Measurement,
  hook: HookName,
  metric: NormMetric,
  stat: LayerStatistic,
  layers: readonly number[],
  label: string,
): LayerData {
  const summary = measurement.summaries[metric][hook];
  if (summary === undefined) {
    const primary = measurement.options.primaryMetric;
    throw new InputError(`${label} has no per-sequence data, only a summary of ${primary} norms; fit with --metric ${primary}, or measure again`);
  }
  if (stat === 'geomean') throw new InputError(`${label} has no per-sequence data, only a summary: fit with --stat mean or median, or measure again`);
  const rows = layers.map((layer) => summary.find((row) => row.layer === layer));
  return {
    values: rows.map((row) => row?.[stat] ?? Number.NaN),
    sequences: measurement.prompts.count,
    tokensPerLayer: rows[0]?.count ?? 0,
    drawable: [],
  };
}

/** Per-layer statistics from values grouped by prompt, which the bootstrap resamples. */
function poolLayerData(pools: readonly LayerPool[], stat: LayerStatistic): LayerData {
  const counts = pools[0]!.counts;
  const drawable = Array.from(counts.keys()).filter((s) => counts[s]! > 0);
  return {
    values: pools.map((pool) => evaluateLayerStatistic(pool, stat)),
    sequences: drawable.length,
    tokensPerLayer: counts.reduce((a, b) => a + b, 0),
    drawable,
    evaluate: (weights) => pools.map((pool) => evaluateLayerStatistic(pool, stat, weights)),
  };
}

export function resolveLayerRange(
  nLayers: number,
  options: Pick<FitGrowthOptions, 'fromLayer' | 'toLayer'>,
  label: string,
): { fromLayer: number; toLayer: number } {
  const fromLayer = options.fromLayer ?? 0;
  const toLayer = options.toLayer ?? nLayers - 1;
  const shown = `${fromLayer}:${toLayer}`;
  if (!Number.isInteger(fromLayer) || !Number.isInteger(toLayer) || fromLayer < 0 || toLayer > nLayers - 1) {
    throw new UsageError(`layers ${shown} are outside ${label}'s layers; valid: 0:${nLayers - 1} (${nLayers} layers)`);
  }
  if (toLayer - fromLayer + 1 < MIN_FIT_LAYERS) {
    const count = Math.max(0, toLayer - fromLayer + 1);
    throw new UsageError(
      `layers ${shown} give ${count} layer${count === 1 ? '' : 's'}; a growth fit needs at least ${MIN_FIT_LAYERS} (${label} has 0:${nLayers - 1})`,
    );
  }
  return { fromLayer, toLayer };
}

function resolveSegmentation(
  n: number,
  options: Pick<FitGrowthOptions, 'segments' | 'minSegment' | 'maxSegments'>,
  label: string,
): { minSegment: number; maxSegments: number; segments?: number } {
  const requested = options.minSegment ?? FIT_DEFAULTS.minSegment;
  const maxSegments = options.maxSegments ?? FIT_DEFAULTS.maxSegments;
  if (!Number.isInteger(requested) || requested < MIN_FIT_LAYERS) {
    throw new UsageError(`minimum phase length ${quote(requested)} is too small; give an integer ≥ ${MIN_FIT_LAYERS}`);
  }
  if (!Number.isInteger(maxSegments) || maxSegments < 1) {
    throw new UsageError(`maximum number of phases ${quote(maxSegments)} is invalid; give an integer ≥ 1`);
  }
  // A range shorter than one minimum phase is one phase.
  const minSegment = Math.min(requested, n);
  const { segments } = options;
  if (segments === undefined) return { minSegment, maxSegments };
  const feasible = maxFeasibleSegments(n, minSegment);
  if (!Number.isInteger(segments) || segments < 1 || segments > feasible) {
    throw new UsageError(`${quote(segments)} phases of at least ${minSegment} layers do not fit in ${label}'s ${n} fitted layers; give 1..${feasible}`);
  }
  return { minSegment, maxSegments, segments };
}

export function checkPositive(values: readonly number[], layers: readonly number[], what: string): void {
  const bad = layers.filter((_, i) => !(values[i]! > 0));
  if (bad.length === 0) return;
  const first = values[layers.indexOf(bad[0]!)]!;
  const why = Number.isNaN(first) ? 'no tokens (every position excluded?)' : `value ${first}`;
  throw new InputError(
    `${what} is not positive at layer${bad.length === 1 ? '' : 's'} ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''} (${why}); a log-linear fit needs norms > 0: choose other --layers`,
  );
}

/** slope ± t(0.975, n − 2)·se, mapped to growth factors. */
function regressionInterval(line: LineFit): GrowthFit['regression'] {
  const dof = line.n - 2;
  const halfWidth = studentTCritical(CONFIDENCE, dof) * line.slopeStdError;
  return {
    ciLow: Math.exp(line.slope - halfWidth),
    ciHigh: Math.exp(line.slope + halfWidth),
    slopeStdError: line.slopeStdError,
    dof,
  };
}

/** Percentile interval of resampled slopes, mapped to growth factors (exp is monotonic). */
function growthInterval(slopes: readonly number[]): { ciLow: number; ciHigh: number } {
  const [low, high] = percentileInterval(slopes, CONFIDENCE);
  return { ciLow: Math.exp(low), ciHigh: Math.exp(high) };
}

function pickInterval({ ciLow, ciHigh }: { ciLow: number; ciHigh: number }): { ciLow: number; ciHigh: number } {
  return { ciLow, ciHigh };
}
