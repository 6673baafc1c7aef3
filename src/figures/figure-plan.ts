/**
 * Which figures a run draws and under which file names: model figures once per results file,
 * the comparison once for all of them, the weights figure once per weights file. A figure with
 * no file of the kind it needs is planned as not drawn, with why. Pure, so `plot` and `report`
 * agree on what is drawn.
 */
import type { HookName } from '../vocabulary/hooks.js';
import { FIGURE_NAMES, FIGURES, type FigureName } from './figure-registry.js';
import type { FigureOptions, FigureOutcome, MechanismsSubject, PlotSubject, WeightsSubject } from './figure-types.js';

export interface PlannedFigure {
  figure: FigureName;
  /** File name without extension, unique within the run; also the prefix of the SVG's ids. */
  stem: string;
  /** The file it is drawn from and its model; undefined for figures of all files together. */
  source: { path: string; model: string } | undefined;
  outcome: FigureOutcome;
}

const NO_RESULTS_REASON = 'no results file of `resid-norms measure` was given (only weights files)';
const NO_MECHANISMS_REASON = 'no mechanisms file was given; write one with `resid-norms mechanisms --model <model>` and pass it with the results files';
const NO_WEIGHTS_REASON = 'no weights file was given; write one with `resid-norms weights --model <model>` and pass it with the results files';

/** "EleutherAI/pythia-70m" → "eleutherai-pythia-70m": safe in file names and SVG ids. */
export function slugify(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return slug.length > 0 ? slug : 'model';
}

/** One slug per model id, made unique with -2, -3… when two files hold the same model. */
export function modelSlugs(ids: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return ids.map((id) => {
    const slug = slugify(id);
    const count = (seen.get(slug) ?? 0) + 1;
    seen.set(slug, count);
    return count === 1 ? slug : `${slug}-${count}`;
  });
}

/**
 * The figures drawn when none were named: every figure the given files allow (no weights
 * figure without a weights file, no results figures without a results file, no diagnostic
 * figures without a results file measured with diagnostics), without warnings.
 */
export function defaultFigures(hasResults: boolean, hasWeights: boolean, hasMechanisms = false, hasDiagnostics = false): FigureName[] {
  return FIGURE_NAMES.filter((name) => {
    const figure = FIGURES[name];
    if ('diagnostic' in figure && figure.diagnostic !== undefined && !hasDiagnostics) return false;
    return figure.scope === 'weights' ? hasWeights : figure.scope === 'mechanisms' ? hasMechanisms : hasResults;
  });
}

export function planFigures(
  subjects: readonly PlotSubject[],
  names: readonly FigureName[],
  options: FigureOptions,
  weights: readonly WeightsSubject[] = [],
  mechanisms: readonly MechanismsSubject[] = [],
): PlannedFigure[] {
  const slugs = modelSlugs(subjects.map(({ measurement }) => measurement.model.id));
  const weightSlugs = modelSlugs(weights.map((subject) => subject.weights.model.id));
  const mechanismSlugs = modelSlugs(mechanisms.map((subject) => subject.mechanisms.model.id));
  const plan: PlannedFigure[] = [];
  const notDrawn = (figure: FigureName, reason: string): PlannedFigure => ({ figure, stem: figure, source: undefined, outcome: { drawn: false, reason } });
  for (const figure of names) {
    const builder = FIGURES[figure];
    if (builder.scope === 'mechanisms') {
      if (mechanisms.length === 0) plan.push(notDrawn(figure, NO_MECHANISMS_REASON));
      mechanisms.forEach((subject, index) => {
        const stem = mechanisms.length === 1 ? figure : `${mechanismSlugs[index]}-${figure}`;
        plan.push({ figure, stem, source: { path: subject.path, model: subject.mechanisms.model.id }, outcome: builder.build(subject, options) });
      });
    } else if (builder.scope === 'weights') {
      if (weights.length === 0) plan.push(notDrawn(figure, NO_WEIGHTS_REASON));
      weights.forEach((subject, index) => {
        const stem = weights.length === 1 ? figure : `${weightSlugs[index]}-${figure}`;
        plan.push({ figure, stem, source: { path: subject.path, model: subject.weights.model.id }, outcome: builder.build(subject, options) });
      });
    } else if (subjects.length === 0) {
      plan.push(notDrawn(figure, NO_RESULTS_REASON));
    } else if (builder.scope === 'models') {
      plan.push({ figure, stem: figure, source: undefined, outcome: builder.build(subjects, options) });
    } else {
      subjects.forEach((subject, index) => {
        const stem = subjects.length === 1 ? figure : `${slugs[index]}-${figure}`;
        plan.push({ figure, stem, source: { path: subject.path, model: subject.measurement.model.id }, outcome: builder.build(subject, options) });
      });
    }
  }
  return plan;
}

/** Hooks whose growth fits the chosen figures draw. */
export function fitHooksFor(names: readonly FigureName[], options: FigureOptions): HookName[] {
  return [...new Set(names.flatMap((name) => FIGURES[name].fitHooks(options)))];
}
