/**
 * The shapes every figure builder shares: what a figure is drawn from (a results file and the
 * growth fits for it, or a weights file), the user's choices, and what a builder returns.
 * Builders are pure: the same subject and options always give the same Vega-Lite spec.
 */
import type { TopLevelSpec } from 'vega-lite'; // types only: src/rendering/render.ts is the one runtime importer
import type { GrowthFit, WeightGrowthFit } from '../results/fit-schema.js';
import type { Diagnostic } from '../results/diagnostics.js';
import type { Measurement } from '../results/schema.js';
import type { HookName } from '../vocabulary/hooks.js';
import type { TokenViewKind, TokenViews } from './token-view-types.js';
import type { WeightSeriesName, WeightVariant, WeightsFile } from '../results/weights-schema.js';
import type { MechanismsFile } from '../results/mechanisms-schema.js';

/**
 * What figures draw of a growth fit (src/analysis/growth-fit.ts): its phases, each a straight
 * line in log space, ln value = intercept + ln(growth) · layer, over [fromLayer, toLayer].
 */
export type FitLine = Pick<
  GrowthFit,
  'hook' | 'metric' | 'stat' | 'fromLayer' | 'toLayer' | 'growth' | 'intercept' | 'ciLow' | 'ciHigh' | 'ciMethod' | 'r2' | 'phases' | 'method' | 'shape'
> &
  Partial<Pick<GrowthFit, 'values'>>;

/** One results file, ready to plot. */
export interface PlotSubject {
  /** The file it came from, for messages and the report. */
  path: string;
  measurement: Measurement;
  /** Growth fits by hook, for the figures that draw them. */
  fits: Partial<Record<HookName, FitLine>>;
  /** What the per-token figures draw, gathered from the file's tokens (src/figure-inputs/token-views.ts). */
  views?: TokenViews;
}

/** What figures draw of a weight growth fit (src/analysis/weight-growth-fit.ts). */
export type WeightFitLine = Pick<
  WeightGrowthFit,
  'series' | 'variant' | 'fromLayer' | 'toLayer' | 'growth' | 'ciLow' | 'ciHigh' | 'ciMethod' | 'r2' | 'phases'
>;

/** One weights file, ready to plot, with the results file of the same model when one was given. */
export interface WeightsSubject {
  /** The file it came from, for messages and the report. */
  path: string;
  weights: WeightsFile;
  /** The results file of the same model id among the inputs (the first, if several). */
  measurement: PlotSubject | undefined;
  /** What the pairing with results files left out or chose, said on the figure. */
  pairingNote: string | undefined;
  /** Growth fits of the drawn variant's series, by series. */
  fits: Partial<Record<WeightSeriesName, WeightFitLine>>;
}

/** One mechanisms file (`resid-norms mechanisms`), ready to plot. */
export interface MechanismsSubject {
  path: string;
  mechanisms: MechanismsFile;
}

/** Everything one run of `plot` or `report` draws from. */
export interface PlotInputs {
  /** Results files of `measure`. */
  subjects: PlotSubject[];
  /** Weights files of `weights`. */
  weights: WeightsSubject[];
  /** Mechanisms files of `mechanisms` (absent: none). */
  mechanisms?: MechanismsSubject[];
}

export const RESCALES = ['none', 'sqrt-d'] as const;
export type Rescale = (typeof RESCALES)[number];
export const X_AXES = ['layer', 'relative-depth'] as const;
export type XAxis = (typeof X_AXES)[number];

export interface FigureOptions {
  /** Hook of the single-hook figures; undefined = each figure's default. */
  hook: HookName | undefined;
  /** Index of the sequence drawn by the per-prompt figure. */
  prompt: number;
  /** Divide norms by √dModel (comparison figure). */
  rescale: Rescale;
  /** Layer index or relative depth on the x axis (comparison figure). */
  x: XAxis;
  /** Weights variant of the weights figure; undefined = each file's primary variant (processed). */
  variant: WeightVariant | undefined;
}

export const DEFAULT_FIGURE_OPTIONS: FigureOptions = { hook: undefined, prompt: 0, rescale: 'none', x: 'layer', variant: undefined };

/** A drawn figure, or the reason it cannot be drawn from this input (said, never invented). */
export type FigureOutcome = { drawn: true; spec: TopLevelSpec; note?: string } | { drawn: false; reason: string };

interface FigureInfo {
  /** One line for --help, the docs and the report. */
  summary: string;
  /** Drawn from this `measure --diagnostics` diagnostic: by default only when a results file has diagnostics. */
  diagnostic?: Diagnostic;
  /** Hooks whose growth fits this figure draws, for the given options. */
  fitHooks(options: FigureOptions): HookName[];
}

/** Drawn once per results file. */
export interface ModelFigure extends FigureInfo {
  scope: 'model';
  /** The per-token view it draws, gathered before building; none for figures of summaries. */
  tokenView?: TokenViewKind;
  build(subject: PlotSubject, options: FigureOptions): FigureOutcome;
}

/** Drawn once from all results files together. */
export interface ModelsFigure extends FigureInfo {
  scope: 'models';
  build(subjects: readonly PlotSubject[], options: FigureOptions): FigureOutcome;
}

/** Drawn once per weights file (with the results file of the same model, if given). */
export interface WeightsFigure extends FigureInfo {
  scope: 'weights';
  build(subject: WeightsSubject, options: FigureOptions): FigureOutcome;
}

/** Drawn once per mechanisms file. */
export interface MechanismsFigure extends FigureInfo {
  scope: 'mechanisms';
  build(subject: MechanismsSubject, options: FigureOptions): FigureOutcome;
}

export type FigureBuilder = ModelFigure | ModelsFigure | WeightsFigure | MechanismsFigure;
