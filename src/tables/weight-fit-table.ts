/** The table `fit` prints for weights files: one row per file and series, then what the columns mean. */
import type { WeightFitEntry } from '../results/fit-schema.js';
import { formatFactor, formatR2 } from '../reporting/numbers.js';
import { intervalCell, phasesCell } from './fit-table.js';
import { formatTextTable } from './text-table.js';

const COLUMNS = ['source', 'model', 'series', 'variant', 'layers', 'growth', '95% CI regression', 'R²', 'phases'] as const;

function formatRow(fit: WeightFitEntry): string[] {
  return [
    fit.source,
    fit.model,
    fit.series,
    fit.variant,
    `${fit.fromLayer}:${fit.toLayer}`,
    formatFactor(fit.growth),
    intervalCell(fit.regression),
    formatR2(fit.r2),
    phasesCell(fit),
  ];
}

export function formatWeightFitTable(fits: readonly WeightFitEntry[]): string {
  const legend = [
    '',
    'weight series: growth factor per layer of the norm of each layer\'s weights (docs/weights.md defines them); one value per layer, no prompts,',
    'so the only interval is the regression\'s (layers treated as independent points). variant: processed = TransformerLens weight processing, raw = as stored.',
  ];
  return `${[...formatTextTable(COLUMNS.map((title) => ({ title })), fits.map(formatRow)), ...legend].join('\n')}\n`;
}
