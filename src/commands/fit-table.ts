/**
 * The human-readable table of `resid-norms fit`: one row per file and hook, then a legend that
 * says which interval is which.
 */
import type { FitEntry } from '../results/fit-schema.js';

const COLUMNS = ['source', 'model', 'hook', 'metric', 'stat', 'layers', 'growth', '95% CI bootstrap', '95% CI regression', 'R²', 'phases'] as const;

export function formatGrowth(value: number): string {
  return value.toFixed(4);
}

export function formatInterval(interval: { ciLow: number; ciHigh: number } | null): string {
  return interval === null ? '—' : `${formatGrowth(interval.ciLow)}–${formatGrowth(interval.ciHigh)}`;
}

/** "0–4 ×1.3021 | 5–11 ×1.0490" */
export function formatPhases(fit: Pick<FitEntry, 'phases'>): string {
  return fit.phases.map((phase) => `${phase.fromLayer}–${phase.toLayer} ×${formatGrowth(phase.growth)}`).join(' | ');
}

function formatRow(fit: FitEntry): string[] {
  return [
    fit.source,
    fit.model,
    fit.hook,
    fit.metric,
    fit.stat,
    `${fit.fromLayer}:${fit.toLayer}`,
    formatGrowth(fit.growth),
    formatInterval(fit.bootstrap),
    formatInterval(fit.regression),
    fit.r2.toFixed(4),
    formatPhases(fit),
  ];
}

/** Rows of cells → lines with every column padded to its widest cell. */
export function alignColumns(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}

export function formatFitTable(fits: readonly FitEntry[]): string {
  const lines = alignColumns([[...COLUMNS], ...fits.map(formatRow)]);
  const bootstrap = fits.find((fit) => fit.bootstrap !== null)?.bootstrap;
  const legend = [
    '',
    'growth: factor per layer, exp(slope) of the least-squares line of ln(statistic) on layer.',
    bootstrap === undefined || bootstrap === null
      ? 'CI bootstrap: — (switched off, or fewer than 2 prompts).'
      : `CI bootstrap: percentile interval over ${bootstrap.samples} resamples of the prompts (seed ${bootstrap.seed}); the honest one.`,
    'CI regression: t interval treating layers as independent points: too narrow when prompts differ in their growth, wide when the range is not one line.',
    'phases: layers and growth of each piece of the best piecewise log-linear fit (number of pieces by BIC unless --segments).',
  ];
  return `${[...lines, ...legend].join('\n')}\n`;
}
