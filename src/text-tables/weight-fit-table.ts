/** The tables `fit` prints for weights files: one row per file and series (narrow by default, every column with --wide), then what the columns mean. */
import type { WeightFitEntry } from '../results/fit-schema.js';
import { formatFactor, formatGrowth, formatR2 } from '../messages/numbers.js';
import { fileCells, formatNarrowTable, intervalCell, phasesCell, wrapText } from './fit-table.js';
import { formatTextTable } from './text-table.js';

const WIDE_COLUMNS = ['source', 'model', 'series', 'variant', 'layers', 'growth', '95% CI regression', 'R²', 'phases'] as const;

function formatWideRow(fit: WeightFitEntry): string[] {
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

export function formatWeightFitTable(fits: readonly WeightFitEntry[], options: { wide?: boolean } = {}): string {
  const variants = new Set(fits.map((fit) => fit.variant));
  const legend = options.wide
    ? [
        '',
        "weight series: growth factor per layer of the norm of each layer's weights (docs/weights.md defines them); one value per layer, no prompts,",
        "so the only interval is the regression's (layers treated as independent points). variant: processed = TransformerLens weight processing, raw = as stored.",
      ]
    : [
        '',
        ...wrapText(
          `weight series: growth per layer of each layer's weight norm (docs/weights.md)${variants.size === 1 ? `, ${[...variants][0]} weights` : ''}; 95% CI: regression.`,
        ),
      ];
  if (options.wide)
    return `${[
      ...formatTextTable(
        WIDE_COLUMNS.map((title) => ({ title })),
        fits.map(formatWideRow),
      ),
      ...legend,
    ].join('\n')}\n`;
  const file = fileCells(fits.map((fit) => fit.source));
  const table = formatNarrowTable(fits, [
    { title: 'file', cell: (fit) => file(fit.source), flexible: 'start' },
    { title: 'series', cell: (fit) => fit.series },
    ...(variants.size > 1 ? [{ title: 'variant', cell: (fit: WeightFitEntry) => fit.variant }] : []),
    { title: 'layers', cell: (fit) => `${fit.fromLayer}:${fit.toLayer}` },
    { title: 'growth', cell: (fit) => formatGrowth(fit.growth), align: 'right' },
    { title: '95% CI', cell: (fit) => intervalCell(fit.regression) },
    { title: 'R²', cell: (fit) => formatR2(fit.r2) },
    { title: 'phases', cell: phasesCell, flexible: 'end' },
  ]);
  return `${[...table, ...legend].join('\n')}\n`;
}
