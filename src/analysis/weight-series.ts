/**
 * Per-layer series of a weights file by stable name (W_OV, W_out, b_O, ln1.w …), for fits and
 * figures: the one place that knows which series a variant has and what an absent one means.
 */
import { UsageError } from '../errors.js';
import { WEIGHT_SERIES, type WeightSeriesName, type WeightVariant, type WeightsFile } from '../results/weights-schema.js';

/** The own parameters of the norms before each sub-block: processing folds them into the weights that read them (post-sublayer norms stay). */
const NORM_SERIES: ReadonlySet<WeightSeriesName> = new Set(WEIGHT_SERIES.filter((name) => name.startsWith('ln1.') || name.startsWith('ln2.')));

/**
 * [layer] the series' values in one variant (default: the file's primary variant). Refuses a
 * series the file does not have — folded away by processing, or no such tensor in this model.
 */
export function weightSeries(file: WeightsFile, name: WeightSeriesName, variant: WeightVariant = file.options.primaryVariant, label = file.model.id): number[] {
  if (variant === 'processed' && NORM_SERIES.has(name)) {
    throw new UsageError(`${name} is folded into the weights that read the norm in processed weights; use --variant raw for ${label}'s ${name}`);
  }
  const values = file.layers.map((layer) => (layer[variant] as Record<string, number | null | undefined>)[name]);
  const missing = values.findIndex((value) => value === null || value === undefined);
  if (missing >= 0) {
    const why = values[missing] === null ? `${file.model.id} has no such tensor` : `${file.model.id} has a ${file.model.mlp} MLP`;
    throw new UsageError(`${label} has no ${variant} ${name} (${why}); series present: ${presentSeries(file, variant).join(', ')}`);
  }
  return values as number[];
}

/** The series a file has in a variant: every layer has a value. */
export function presentSeries(file: WeightsFile, variant: WeightVariant): WeightSeriesName[] {
  return WEIGHT_SERIES.filter((name) => {
    if (variant === 'processed' && NORM_SERIES.has(name)) return false;
    return file.layers.every((layer) => typeof (layer[variant] as Record<string, unknown>)[name] === 'number');
  });
}
