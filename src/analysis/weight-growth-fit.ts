/**
 * Growth of weight norms over layers: the same least-squares fit of ln(value) on layer, with
 * the same phases, as activation norms (fitLogLinear of growth-fit.ts), over one named series
 * of a weights file. There are no prompts to resample, so the interval is the regression's.
 */
import type { WeightGrowthFit } from '../results/fit-schema.js';
import type { WeightSeriesName, WeightVariant, WeightsFile } from '../results/weights-schema.js';
import { checkPositive, fitLogLinear, resolveLayerRange, type FitGrowthOptions } from './growth-fit.js';
import { weightSeries } from './weight-series.js';

export interface FitWeightGrowthOptions extends Pick<FitGrowthOptions, 'fromLayer' | 'toLayer' | 'segments' | 'minSegment' | 'maxSegments' | 'label'> {
  series: WeightSeriesName;
  /** Default: the file's primary variant (processed). */
  variant?: WeightVariant;
}

export function fitWeightGrowth(file: WeightsFile, options: FitWeightGrowthOptions): WeightGrowthFit {
  const label = options.label ?? file.model.id;
  const variant = options.variant ?? file.options.primaryVariant;
  const series = weightSeries(file, options.series, variant, label);
  const { fromLayer, toLayer } = resolveLayerRange(file.model.nLayers, options, label);
  const layers = Array.from({ length: toLayer - fromLayer + 1 }, (_, i) => fromLayer + i);
  const values = layers.map((layer) => series[layer]!);
  checkPositive(values, layers, `${label} ${variant} ${options.series}`);
  return { model: file.model.id, series: options.series, variant, fromLayer, toLayer, values, ...fitLogLinear(layers, values, options, label) };
}
