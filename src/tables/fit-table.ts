/**
 * The human-readable table of `resid-norms fit`: one row per file and hook, then a legend that
 * says which interval is which.
 */
import type { FitEntry, MethodEstimate } from '../results/fit-schema.js';
import { formatFactor, formatInterval, formatPhases, formatR2 } from '../reporting/numbers.js';
import { formatTextTable } from './text-table.js';

const COLUMNS = ['source', 'model', 'hook', 'metric', 'stat', 'layers', 'method', 'growth', '95% CI bootstrap', '95% CI regression', 'OLS', 'endpoints', 'R²', 'one exp.', 'phases'] as const;

/** An interval's cell: "1.0431–1.0469", or — when there is none. */
export function intervalCell(interval: { ciLow: number; ciHigh: number } | null): string {
  return interval === null ? '—' : formatInterval(interval.ciLow, interval.ciHigh);
}

/** The phases' cell: "0–4 ×1.3021 | 5–11 ×1.0490". */
export function phasesCell(fit: Pick<FitEntry, 'phases'>): string {
  return formatPhases(fit.phases, ' | ');
}

function formatRow(fit: FitEntry): string[] {
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
    fit.shape === undefined ? '—' : fit.shape.oneExponential ? 'yes' : 'NO',
    phasesCell(fit),
  ];
}

/** "1.0450 (1.0431–1.0469)": one method's growth and interval. */
function formatEstimate(estimate: MethodEstimate | undefined): string {
  if (estimate === undefined) return '—';
  return estimate.ciMethod === 'none' ? formatFactor(estimate.growth) : `${formatFactor(estimate.growth)} (${intervalCell(estimate)})`;
}

export function formatFitTable(fits: readonly FitEntry[]): string {
  const lines = formatTextTable(COLUMNS.map((title) => ({ title })), fits.map(formatRow));
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
    'one exp.: whether one exponential describes the range (R² ≥ 0.95 and no two neighbouring phases with disjoint intervals); NO: quote the phases.',
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
