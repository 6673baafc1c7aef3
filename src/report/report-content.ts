/**
 * What a report says, independent of how it is written out: tables of models, runs and growth
 * fits as plain strings, and the figures (a spec and an SVG, or why not drawn). The HTML page
 * and the Markdown summary are two renderings of this one content.
 */
import type { TopLevelSpec } from 'vega-lite'; // types only
import type { FigureName } from '../figures/figure-registry.js';
import type { SweepFigureName } from '../figures/sweep-figures.js';
import type { FitLine, PlotSubject, WeightsSubject } from '../figures/figure-types.js';
import { excludedCounts, shapeVerdict } from '../figures/figure-text.js';
import { HOOK_NAMES, headlineHook } from '../vocabulary/hooks.js';
import { formatGrowth, formatInterval, formatPhases, formatR2 } from '../messages/numbers.js';
import type { WeightSeriesName } from '../results/weights-schema.js';

export interface Table {
  header: string[];
  rows: string[][];
}

export interface ReportFigure {
  figure: FigureName | SweepFigureName;
  /** Unique name of the figure in the report: its SVG file name, and the id of its elements. */
  stem: string;
  /** What the figure shows, one line. */
  summary: string;
  /** Model id (and file) the figure was drawn from; undefined for figures of all files. */
  subject: string | undefined;
  /** The Vega-Lite spec the page draws, and the static SVG (a file, and the page's fallback)… */
  spec?: TopLevelSpec;
  svg?: string;
  /** …or why the figure could not be drawn. */
  reason?: string;
  note?: string;
}

/** Where a drawn figure's SVG file goes, relative to the report folder. */
export function figureFile(entry: Pick<ReportFigure, 'stem'>): string {
  return `figures/${entry.stem}.svg`;
}

export interface ReportContent {
  toolVersion: string;
  /** What the report opens with: per results file, the growth of its headline hook, its interval and whether it is one exponential. */
  headline: string[];
  models: Table;
  runs: Table;
  fits: Table;
  /** Growth fits of the writing weights of weights files. */
  weightFits: Table;
  figures: ReportFigure[];
}

/** Layers, growth per layer, interval, R² and phases: the cells every fit row shares. */
function growthCells(fit: Pick<FitLine, 'fromLayer' | 'toLayer' | 'growth' | 'ciLow' | 'ciHigh' | 'ciMethod' | 'r2' | 'phases'>): string[] {
  return [
    `${fit.fromLayer}–${fit.toLayer}`,
    formatGrowth(fit.growth),
    `${formatInterval(fit.ciLow, fit.ciHigh)} (${fit.ciMethod})`,
    formatR2(fit.r2),
    formatPhases(fit.phases, ', '),
  ];
}

function yesNo(value: boolean | undefined): string {
  return value === undefined ? '—' : value ? 'yes' : 'no';
}

/** One row per results file, then one per weights file (whose primary "metric" is its weights variant). */
export function modelTable(subjects: readonly PlotSubject[], weights: readonly WeightsSubject[]): Table {
  const files = [
    ...subjects.map(({ path, measurement: { model, options } }) => ({
      path,
      model,
      primary: options.primaryMetricReason === undefined ? options.primaryMetric : `${options.primaryMetric} (${options.primaryMetricReason})`,
    })),
    ...weights.map(({ path, weights: { model, options } }) => ({
      path,
      model,
      primary: `${options.primaryVariant} weights (${options.primaryVariantReason})`,
    })),
  ];
  return {
    header: ['file', 'model', 'revision', 'architecture', 'layers', 'd_model', 'heads', 'dtype', 'normalization', 'parallel residual', 'primary metric'],
    rows: files.map(({ path, model, primary }) => [
      path,
      model.id,
      model.revision ?? '—',
      model.architecture,
      String(model.nLayers),
      String(model.dModel),
      String(model.nHeads),
      model.dtype,
      model.normalization ?? '—',
      yesNo(model.parallelResidual),
      primary,
    ]),
  };
}

export function runTable(subjects: readonly PlotSubject[]): Table {
  return {
    header: [
      'file',
      'prompt set',
      'prompts',
      'tokens',
      'prompt-set sha256',
      'BOS prepended',
      'excluded',
      'device',
      'threads',
      'seconds',
      'tokens/s',
      'written by',
    ],
    rows: subjects.map(({ path, measurement }) => {
      const { prompts, options, runtime, createdBy, tokens } = measurement;
      return [
        path,
        prompts.source,
        String(prompts.count),
        String(tokens.measured),
        prompts.sha256,
        yesNo(options.prependBos),
        excludedCounts(measurement),
        runtime.device,
        String(runtime.threads),
        runtime.seconds.toFixed(1),
        runtime.tokensPerSecond.toFixed(0),
        createdBy === undefined ? '—' : `${createdBy.tool} ${createdBy.version}`,
      ];
    }),
  };
}

/**
 * One line per results file: "demo-gpt2: resid_post grows ×1.1262 per layer, layers 0–7 (95% CI
 * 1.1253–1.1272, bootstrap over prompts; mean centered norm) — not one exponential (R² 0.8748 <
 * 0.95; 2 phases with different rates): 0–3 ×1.2487, 4–7 ×1.0691". The headline hook is the
 * reference analysis's (resid_post, see vocabulary/hooks.ts).
 */
export function headlineLines(subjects: readonly PlotSubject[]): string[] {
  const ids = subjects.map(({ measurement }) => measurement.model.id);
  return subjects.map(({ path, measurement, fits }, index) => {
    const label = ids.indexOf(ids[index]!) === ids.lastIndexOf(ids[index]!) ? ids[index]! : `${ids[index]} (${path})`;
    const hook = headlineHook(measurement.hooks);
    const fit = fits[hook];
    if (fit === undefined) return `${label}: no growth fit of ${hook}`;
    const interval = `95% CI ${formatInterval(fit.ciLow, fit.ciHigh)}, ${fit.ciMethod === 'bootstrap' ? 'bootstrap over prompts' : 'regression'}`;
    const shape =
      fit.shape === undefined
        ? `R² ${formatR2(fit.r2)}`
        : fit.shape.oneExponential
          ? `one exponential (R² ${formatR2(fit.r2)})`
          : `not one exponential (${shapeVerdict(fit)})${fit.phases.length > 1 ? `: ${formatPhases(fit.phases, ', ')}` : ''}`;
    return `${label}: ${hook} grows ${formatGrowth(fit.growth)} per layer, layers ${fit.fromLayer}–${fit.toLayer} (${interval}; ${fit.stat} ${fit.metric} norm) — ${shape}`;
  });
}

/** The shape cell of a fit row: yes, or NO with why (and, when the fit found several phases, that they are what to quote). */
function shapeCell(fit: Pick<FitLine, 'shape' | 'phases'>): string {
  if (fit.shape === undefined) return '—';
  if (fit.shape.oneExponential) return 'yes';
  return `NO: ${fit.shape.reason}${fit.phases.length > 1 ? '; quote the phases' : ''}`;
}

/** One row per file and fitted hook: the headline hook first, then the others in forward-pass order. */
export function fitTable(subjects: readonly PlotSubject[]): Table {
  const rows: string[][] = [];
  for (const { measurement, fits } of subjects) {
    const headline = headlineHook(measurement.hooks);
    for (const hook of [headline, ...HOOK_NAMES.filter((name) => name !== headline)]) {
      const fit = fits[hook];
      if (fit === undefined) continue;
      rows.push([measurement.model.id, hook, fit.metric, fit.stat, fit.method ?? 'ols', ...growthCells(fit), shapeCell(fit)]);
    }
  }
  return {
    header: ['model', 'hook', 'metric', 'statistic', 'method', 'layers', 'growth per layer', '95% CI', 'R²', 'phases (layers, growth)', 'one exponential?'],
    rows,
  };
}

/** The writing weights of the reference analysis, as `fit` fits weights files by default. */
const TABLE_SERIES: readonly WeightSeriesName[] = ['W_OV', 'W_out'];

/** One row per weights file and series (W_OV, W_out) that was fitted. */
export function weightFitTable(subjects: readonly WeightsSubject[]): Table {
  const rows: string[][] = [];
  for (const { weights, fits } of subjects) {
    for (const series of TABLE_SERIES) {
      const fit = fits[series];
      if (fit === undefined) continue;
      rows.push([weights.model.id, series, fit.variant, ...growthCells(fit)]);
    }
  }
  return { header: ['model', 'series', 'variant', 'layers', 'growth per layer', '95% CI', 'R²', 'phases (layers, growth)'], rows };
}
