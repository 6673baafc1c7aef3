/**
 * Exponential growth of norms over layers: least squares of ln(statistic) on layer, where the
 * statistic is the mean or median over tokens of one hook's norms at each layer.
 * Reads only a results file; never the model.
 */
import { InputError, UsageError, quote } from '../errors.js';
import type { CiMethod, GrowthFit, GrowthPhase } from '../results/fit-schema.js';
import type { HookName, Measurement, NormMetric } from '../results/schema.js';
import { PrefixSums, type LineFit } from './least-squares.js';
import { buildLayerPool, evaluateLayerStatistic, type LayerPool, type LayerStatistic } from './layer-statistic.js';
import { studentTCritical } from './student-t.js';

export type { CiMethod, GrowthFit, GrowthPhase } from '../results/fit-schema.js';
export type { LayerStatistic } from './layer-statistic.js';

export interface FitGrowthOptions {
  hook: HookName;
  /** Default: the file's primary metric. */
  metric?: NormMetric;
  /** Default: mean. */
  stat?: LayerStatistic;
  /** Inclusive range; default: every layer of the model. */
  fromLayer?: number;
  toLayer?: number;
  /** Named in error messages; default: the model id. */
  label?: string;
}

export const CONFIDENCE = 0.95;
/** A line through two points always fits exactly: a fit needs at least three. */
export const MIN_FIT_LAYERS = 3;

export function fitGrowth(measurement: Measurement, options: FitGrowthOptions): GrowthFit {
  const label = options.label ?? measurement.model.id;
  const { hook } = options;
  const metric = options.metric ?? measurement.options.primaryMetric;
  const stat = options.stat ?? 'mean';
  if (!measurement.hooks.includes(hook)) {
    throw new UsageError(`${label} has no hook ${quote(hook)}; hooks present: ${measurement.hooks.join(', ')}`);
  }
  const { fromLayer, toLayer } = resolveLayerRange(measurement.model.nLayers, options, label);
  const layers = Array.from({ length: toLayer - fromLayer + 1 }, (_, i) => fromLayer + i);
  const pools = layers.map((layer) =>
    buildLayerPool(measurement.sequences, hook, metric, layer, measurement.options.excludePositions),
  );
  const values = pools.map((pool) => evaluateLayerStatistic(pool, stat));
  checkPositive(values, layers, `${label} ${hook} ${metric} ${stat}`);

  const logValues = values.map(Math.log);
  const line = new PrefixSums(layers, logValues).fit(0, layers.length);
  const regression = regressionInterval(line);
  const phase: GrowthPhase = { ...describeLine(line, fromLayer, toLayer), ...regressionPhaseInterval(line) };
  return {
    model: measurement.model.id,
    hook,
    metric,
    stat,
    fromLayer,
    toLayer,
    values,
    sequences: countSequences(pools),
    tokensPerLayer: pools[0]!.counts.reduce((a, b) => a + b, 0),
    growth: Math.exp(line.slope),
    intercept: line.intercept,
    r2: line.r2,
    confidence: CONFIDENCE,
    ciLow: regression.ciLow,
    ciHigh: regression.ciHigh,
    ciMethod: 'regression' satisfies CiMethod,
    regression,
    bootstrap: null,
    phases: [phase],
    segmentation: { criterion: 'bic', forced: false, minSegment: layers.length, maxSegments: 1, scores: [null] },
  };
}

function resolveLayerRange(
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

function checkPositive(values: readonly number[], layers: readonly number[], what: string): void {
  const bad = layers.filter((_, i) => !(values[i]! > 0));
  if (bad.length === 0) return;
  const first = values[layers.indexOf(bad[0]!)]!;
  const why = Number.isNaN(first) ? 'no tokens (every position excluded?)' : `value ${first}`;
  throw new InputError(
    `${what} is not positive at layer${bad.length === 1 ? '' : 's'} ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''} (${why}); a log-linear fit needs norms > 0: choose other --layers`,
  );
}

function countSequences(pools: readonly LayerPool[]): number {
  const counts = pools[0]!.counts;
  return counts.filter((count) => count > 0).length;
}

/** Growth, intercept and fit quality of one line over an inclusive layer range. */
export function describeLine(line: LineFit, fromLayer: number, toLayer: number): Omit<GrowthPhase, 'ciLow' | 'ciHigh' | 'ciMethod'> {
  return { fromLayer, toLayer, growth: Math.exp(line.slope), intercept: line.intercept, r2: line.r2 };
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

function regressionPhaseInterval(line: LineFit): Pick<GrowthPhase, 'ciLow' | 'ciHigh' | 'ciMethod'> {
  if (line.n < MIN_FIT_LAYERS) return { ciLow: null, ciHigh: null, ciMethod: 'regression' };
  const { ciLow, ciHigh } = regressionInterval(line);
  return { ciLow, ciHigh, ciMethod: 'regression' };
}
