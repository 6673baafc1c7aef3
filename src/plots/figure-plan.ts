/**
 * Which figures a run draws and under which file names: model figures once per results file,
 * the comparison once for all of them. Pure, so `plot` and `report` agree on what is drawn.
 */
import type { HookName } from '../results/schema.js';
import { FIGURES, type FigureName } from './figure-registry.js';
import type { FigureOptions, FigureOutcome, PlotSubject } from './figure-types.js';

export interface PlannedFigure {
  figure: FigureName;
  /** File name without extension, unique within the run; also the prefix of the SVG's ids. */
  stem: string;
  /** The results file it is drawn from; undefined for figures of all files together. */
  subject: PlotSubject | undefined;
  outcome: FigureOutcome;
}

/** "EleutherAI/pythia-70m" → "eleutherai-pythia-70m": safe in file names and SVG ids. */
export function slugify(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return slug.length > 0 ? slug : 'model';
}

/** One slug per subject, made unique with -2, -3… when two files hold the same model. */
export function subjectSlugs(subjects: readonly PlotSubject[]): string[] {
  const seen = new Map<string, number>();
  return subjects.map(({ measurement }) => {
    const slug = slugify(measurement.model.id);
    const count = (seen.get(slug) ?? 0) + 1;
    seen.set(slug, count);
    return count === 1 ? slug : `${slug}-${count}`;
  });
}

export function planFigures(subjects: readonly PlotSubject[], names: readonly FigureName[], options: FigureOptions): PlannedFigure[] {
  const slugs = subjectSlugs(subjects);
  const plan: PlannedFigure[] = [];
  for (const figure of names) {
    const builder = FIGURES[figure];
    if (builder.scope === 'models') {
      plan.push({ figure, stem: figure, subject: undefined, outcome: builder.build(subjects, options) });
      continue;
    }
    subjects.forEach((subject, index) => {
      const stem = subjects.length === 1 ? figure : `${slugs[index]}-${figure}`;
      plan.push({ figure, stem, subject, outcome: builder.build(subject, options) });
    });
  }
  return plan;
}

/** Hooks whose growth fits the chosen figures draw. */
export function fitHooksFor(names: readonly FigureName[], options: FigureOptions): HookName[] {
  return [...new Set(names.flatMap((name) => FIGURES[name].fitHooks(options)))];
}
