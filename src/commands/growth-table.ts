/** The short table `measure` prints: mean norm per layer and its ratio to the previous layer. */
import type { HookName, Measurement } from '../results/schema.js';

/** The hook the table shows: resid_post when measured, else the first measured hook. */
export function tableHook(measurement: Measurement): HookName {
  return measurement.hooks.includes('resid_post') ? 'resid_post' : measurement.hooks[0]!;
}

export function formatGrowthTable(measurement: Measurement, hook: HookName = tableHook(measurement)): string {
  const rows = measurement.summary[hook] ?? [];
  const metric = measurement.options.primaryMetric;
  const excluded = measurement.options.excludePositions.length > 0 ? `, position${measurement.options.excludePositions.length > 1 ? 's' : ''} ${measurement.options.excludePositions.join(',')} (BOS) excluded` : '';
  const lines = [`${hook}: mean ${metric} norm over ${rows[0]?.count ?? 0} tokens${excluded}`, 'layer   mean norm    ratio'];
  rows.forEach((row, index) => {
    const previous = rows[index - 1];
    const ratio = previous ? (row.mean / previous.mean).toFixed(3) : '';
    lines.push(`${String(row.layer).padStart(5)}  ${row.mean.toPrecision(5).padStart(10)}  ${ratio.padStart(7)}`);
  });
  return `${lines.join('\n')}\n`;
}
