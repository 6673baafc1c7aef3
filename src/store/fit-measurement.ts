/** A growth fit of one hook of a results file, from its per-prompt data (src/analysis/growth-fit.ts does the fitting). */
import { fitGrowth, fitLayers, FIT_DEFAULTS, type FitGrowthOptions, type GrowthFit } from '../analysis/growth-fit.js';
import { loadLayerPools } from './layer-pools.js';
import type { MeasurementFile } from './open-results.js';

export async function fitMeasurementFile(file: MeasurementFile, options: FitGrowthOptions): Promise<GrowthFit> {
  const { measurement } = file;
  const layers = fitLayers(measurement, options); // a bad hook or range is refused before any table is read
  const metric = options.metric ?? measurement.options.primaryMetric;
  const pools = await loadLayerPools(await file.tokens(), options.hook, metric, layers, options.stat ?? FIT_DEFAULTS.stat);
  return fitGrowth(measurement, options, pools);
}
