/** The short table `measure` prints: mean norm per layer and its ratio to the previous layer. */
import { excludedCounts, shapeVerdict } from '../figures/figure-text.js';
import { fitMeasurementFile } from '../store/fit-measurement.js';
import type { MeasurementFile } from '../store/open-results.js';
import { ResidNormsError } from '../errors.js';
import type { Measurement } from '../results/schema.js';
import { headlineHook, type HookName } from '../vocabulary/hooks.js';
import { formatFactor, formatGrowth, formatInterval, formatPhases, formatR2 } from '../messages/numbers.js';
import { formatTextTable, type TextColumn } from './text-table.js';

/** The hook the table shows: the headline (resid_post when measured; see vocabulary/hooks.ts). */
export function tableHook(measurement: Measurement): HookName {
  return headlineHook(measurement.hooks);
}

const GROWTH_COLUMNS: readonly TextColumn[] = [
  { title: 'layer', align: 'right', minWidth: 5 },
  { title: 'mean norm', align: 'right', minWidth: 10 },
  { title: 'ratio', align: 'right', minWidth: 7 },
];

export function formatGrowthTable(measurement: Measurement, hook: HookName = tableHook(measurement)): string {
  const rows = measurement.summary[hook] ?? [];
  const metric = measurement.options.primaryMetric;
  const excluded = ` (${excludedCounts(measurement)})`;
  const cells = rows.map((row, index) => {
    const previous = rows[index - 1];
    return [String(row.layer), row.mean.toPrecision(5), previous ? formatFactor(row.mean / previous.mean) : ''];
  });
  const lines = [`${hook}: mean ${metric} norm over ${rows[0]?.count ?? 0} tokens${excluded}`, ...formatTextTable(GROWTH_COLUMNS, cells)];
  return `${lines.join('\n')}\n`;
}

/** One line with the fitted growth over all layers, or undefined when no fit is possible. */
export async function formatFittedRate(file: MeasurementFile, hook: HookName = tableHook(file.measurement)): Promise<string | undefined> {
  try {
    // fit's defaults (1000 resamples, seed 1): the numbers `fit` and the report give for the same file.
    const fit = await fitMeasurementFile(file, { hook });
    const interval = fit.ciMethod === 'bootstrap' ? 'bootstrap over prompts' : 'regression';
    const phases = fit.phases.length > 1 ? `; ${fit.phases.length} phases: ${formatPhases(fit.phases, ', ')}` : '';
    const line = `fitted growth of ${hook}, layers ${fit.fromLayer}–${fit.toLayer}: ${formatGrowth(fit.growth)} per layer (95% CI ${formatInterval(fit.ciLow, fit.ciHigh)}, ${interval}; R² ${formatR2(fit.r2)})${phases}\n`;
    if (fit.shape?.oneExponential !== false) return line;
    const what =
      fit.phases.length > 1 ? 'quote the phases, or fit inside one (`resid-norms fit --layers`)' : 'see `resid-norms fit` with --layers or --segments';
    return `${line}note: not one exponential (${shapeVerdict(fit)}): ${what}\n`;
  } catch (error) {
    if (error instanceof ResidNormsError) return undefined; // e.g. fewer than 3 layers
    throw error;
  }
}
