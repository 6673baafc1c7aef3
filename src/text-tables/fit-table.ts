/**
 * The tables of `resid-norms fit`. By default a narrow one that fits 100 columns — one row per
 * file and hook with the headline growth, its interval, R² and the shape verdict with the phases
 * to quote instead, and a legend of three lines — and with --wide the full one: both estimators
 * with their intervals, the regression's interval, the long legend and a note per fit that is not
 * one exponential.
 */
import type { FitEntry, MethodEstimate } from '../results/fit-schema.js';
import { formatFactor, formatGrowth, formatInterval, formatPhases, formatR2 } from '../messages/numbers.js';
import { formatTextTable, type TextColumn } from './text-table.js';

/** The narrow tables' width: a terminal of 100 columns shows them without wrapping. */
export const NARROW_COLUMNS = 100;

const WIDE_COLUMNS = [
  'source',
  'model',
  'hook',
  'metric',
  'stat',
  'layers',
  'method',
  'growth',
  '95% CI bootstrap',
  '95% CI regression',
  'OLS',
  'endpoints',
  'R²',
  'one exp.',
  'phases',
] as const;

/** An interval's cell: "1.0431–1.0469", or — when there is none. */
export function intervalCell(interval: { ciLow: number; ciHigh: number } | null): string {
  return interval === null ? '—' : formatInterval(interval.ciLow, interval.ciHigh);
}

/** The phases' cell: "0–4 ×1.3021 | 5–11 ×1.0490". */
export function phasesCell(fit: Pick<FitEntry, 'phases'>): string {
  return formatPhases(fit.phases, ' | ');
}

/** What a flexible column keeps, if it can, when an earlier one is long. */
const KEPT_WIDTH = 20;

/** `text` cut to `width` characters, with an ellipsis where it was cut (at the start for paths, whose end names the file). */
export function cutCell(text: string, width: number, from: 'start' | 'end' = 'end'): string {
  const points = [...text];
  if (points.length <= width) return text;
  if (width <= 1) return '…';
  return from === 'start' ? `…${points.slice(points.length - width + 1).join('')}` : `${points.slice(0, width - 1).join('')}…`;
}

const shapeCell = (fit: Pick<FitEntry, 'shape'>): string => (fit.shape === undefined ? '—' : fit.shape.oneExponential ? 'yes' : 'NO');

export interface NarrowColumn<T> extends TextColumn {
  cell: (row: T) => string;
  /** Cut to the width left by the others: the path from its start, the phases at their end. */
  flexible?: 'start' | 'end';
}

/**
 * A narrow table of 100 columns at most: the flexible columns (the file, the phases) share what the
 * fixed ones leave, and columns whose value every row shares are said once above the table instead.
 */
export function formatNarrowTable<T>(fits: readonly T[], columns: ReadonlyArray<NarrowColumn<T>>): string[] {
  const gaps = 2 * (columns.length - 1);
  const widthOf = (column: NarrowColumn<T>) => fits.reduce((most, fit) => Math.max(most, [...column.cell(fit)].length), [...column.title].length); // no spread: one row per fit
  const fixed = columns.filter((column) => column.flexible === undefined).reduce((sum, column) => sum + widthOf(column), 0);
  const flexible = columns.filter((column) => column.flexible !== undefined);
  let room = NARROW_COLUMNS - gaps - fixed;
  // In their order (the file first: it names the row), each takes what it needs, leaving the ones after it KEPT_WIDTH each.
  const allotted = new Map<NarrowColumn<T>, number>();
  flexible.forEach((column, index) => {
    const kept = flexible.slice(index + 1).reduce((sum, later) => sum + Math.min(widthOf(later), KEPT_WIDTH), 0);
    const share = Math.max([...column.title].length, Math.min(widthOf(column), room - kept));
    allotted.set(column, share);
    room -= share;
  });
  const rows = fits.map((fit) =>
    columns.map((column) => (column.flexible === undefined ? column.cell(fit) : cutCell(column.cell(fit), allotted.get(column)!, column.flexible))),
  );
  return formatTextTable(columns, rows);
}

/** Columns shown only when the rows differ in them (said in the legend otherwise). */
function varying(fits: readonly FitEntry[], columns: ReadonlyArray<NarrowColumn<FitEntry>>): Array<NarrowColumn<FitEntry>> {
  return columns.filter((column) => new Set(fits.map(column.cell)).size > 1);
}

/** Paths as the rows show them: the file names when they tell the rows apart, else the paths. */
export function fileCells(sources: readonly string[]): (source: string) => string {
  const name = (source: string) => source.split(/[\\/]/).pop() ?? source;
  const unique = new Set(sources.map(name)).size === new Set(sources).size;
  return unique ? name : (source) => source;
}

/** The shape cell of the narrow table: "one exp.", or NO with the phases to quote instead. */
function shapeWithPhases(fit: FitEntry): string {
  if (fit.shape === undefined) return phasesCell(fit);
  if (fit.shape.oneExponential) return 'one exp.';
  return fit.phases.length > 1 ? `NO: ${phasesCell(fit)}` : 'NO';
}

/** Words wrapped to lines of at most `width` characters. */
export function wrapText(text: string, width = NARROW_COLUMNS): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && [...line].length + 1 + [...word].length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return line === '' ? lines : [...lines, line];
}

export function formatFitTable(fits: readonly FitEntry[], options: { wide?: boolean } = {}): string {
  if (options.wide) return formatWideFitTable(fits);
  const bootstrapped = fits.every((fit) => fit.ciMethod === 'bootstrap');
  // Some intervals bootstrapped, some not (a file of one prompt): the others are marked (r).
  const mixed = !bootstrapped && fits.some((fit) => fit.ciMethod === 'bootstrap');
  const file = fileCells(fits.map((fit) => fit.source));
  const columns: Array<NarrowColumn<FitEntry>> = [
    // The file names the row (results/gpt2-xl.json: the model too); the model id is in --wide and --json.
    { title: 'file', cell: (fit) => file(fit.source), flexible: 'start' },
    { title: 'hook', cell: (fit) => fit.hook },
    ...varying(fits, [
      { title: 'metric', cell: (fit) => fit.metric },
      { title: 'stat', cell: (fit) => fit.stat },
      { title: 'method', cell: (fit) => fit.method ?? 'ols' },
    ]),
    { title: 'layers', cell: (fit) => `${fit.fromLayer}:${fit.toLayer}` },
    { title: 'growth', cell: (fit) => formatGrowth(fit.growth), align: 'right' },
    { title: '95% CI', cell: (fit) => `${formatInterval(fit.ciLow, fit.ciHigh)}${mixed && fit.ciMethod !== 'bootstrap' ? ' (r)' : ''}` },
    { title: 'R²', cell: (fit) => formatR2(fit.r2) },
    { title: 'shape', cell: shapeWithPhases, flexible: 'end' },
  ];
  const first = fits[0]!;
  const same = (read: (fit: FitEntry) => string) => new Set(fits.map(read)).size === 1;
  const estimator = same((fit) => fit.method ?? 'ols')
    ? (first.method ?? 'ols') === 'ols'
      ? 'least-squares fit'
      : 'end layers (the reference analysis)'
    : '--method';
  const statistic = same((fit) => `${fit.stat} ${fit.metric}`) ? `${first.stat} ${first.metric} norm` : 'statistic';
  const bootstrap = fits.find((fit) => fit.bootstrap !== null)?.bootstrap;
  const interval =
    bootstrap === undefined || bootstrap === null
      ? 'regression (layers as independent points)'
      : `bootstrap over prompts (${bootstrap.samples} resamples, seed ${bootstrap.seed})${bootstrapped ? '' : '; (r): regression'}`;
  const legend =
    `growth per layer: ${estimator} of ln(${statistic}); 95% CI: ${interval}. ` +
    'shape: one exp. if R² ≥ 0.95 and no phases with disjoint intervals, else NO: quote the phases or fit inside one (--layers). ' +
    '--wide: all estimators and intervals.';
  return `${[...formatNarrowTable(fits, columns), '', ...wrapText(legend)].join('\n')}\n`;
}

function formatWideRow(fit: FitEntry): string[] {
  return [
    fit.source,
    fit.model,
    fit.hook,
    fit.metric,
    fit.stat,
    `${fit.fromLayer}:${fit.toLayer}`,
    fit.method ?? 'ols',
    formatFactor(fit.growth),
    fit.ciMethod === 'bootstrap' ? intervalCell(fit) : '—',
    intervalCell(fit.regression),
    formatEstimate(fit.methods?.ols),
    formatEstimate(fit.methods?.endpoints),
    formatR2(fit.r2),
    shapeCell(fit),
    phasesCell(fit),
  ];
}

/** "1.0450 (1.0431–1.0469)": one method's growth and interval. */
function formatEstimate(estimate: MethodEstimate | undefined): string {
  if (estimate === undefined) return '—';
  return estimate.ciMethod === 'none' ? formatFactor(estimate.growth) : `${formatFactor(estimate.growth)} (${intervalCell(estimate)})`;
}

function formatWideFitTable(fits: readonly FitEntry[]): string {
  const lines = formatTextTable(
    WIDE_COLUMNS.map((title) => ({ title })),
    fits.map(formatWideRow),
  );
  const bootstrap = fits.find((fit) => fit.bootstrap !== null)?.bootstrap;
  const legend = [
    '',
    'growth: factor per layer by `method` (the headline, and what --expect checks), with its intervals:',
    '  ols: exp(slope) of the least-squares line of ln(statistic) on layer; endpoints: (m_b/m_a)^(1/(b−a)), the line through the two end layers (the reference analysis).',
    bootstrap === undefined || bootstrap === null
      ? 'CI bootstrap: — (switched off, or fewer than 2 prompts).'
      : `CI bootstrap: percentile interval over ${bootstrap.samples} resamples of the prompts (seed ${bootstrap.seed}); the honest one for prompt sampling — it says nothing of misfit.`,
    'CI regression (OLS only): t interval treating layers as independent points: too narrow when prompts differ in their growth, wide when the range is not one line.',
    'OLS, endpoints: both estimators side by side, each with its bootstrap interval.',
    'one exp.: whether one exponential describes the range (R² ≥ 0.95 and no two neighbouring phases with disjoint intervals); NO: see the note below.',
    'phases: layers and growth of each piece of the best piecewise log-linear fit (number of pieces by BIC unless --segments).',
  ];
  const notes = fits.filter((fit) => fit.shape?.oneExponential === false).map((fit) => `note: ${shapeNote(fit)}`);
  return `${[...lines, ...legend, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n')}\n`;
}

/** What the table's NO means for one fit, and what to quote instead. */
export function shapeNote(fit: Pick<FitEntry, 'source' | 'hook' | 'fromLayer' | 'toLayer' | 'shape' | 'phases'>): string {
  const where = `${fit.source} ${fit.hook} layers ${fit.fromLayer}–${fit.toLayer}`;
  const what =
    fit.phases.length > 1
      ? `quote the phases (${phasesCell(fit)}) or fit a range inside one of them (--layers)`
      : 'no split into phases of at least --min-segment layers beats one line: fit inside one regime (--layers; `plot --figures ratio` shows the per-layer steps) or force phases (--segments)';
  return `${where} is not one exponential: ${fit.shape?.reason ?? ''}. Then ${what}.`;
}
