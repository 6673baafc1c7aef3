/**
 * `resid-norms report`: results and weights files → a folder with a self-contained, interactive
 * index.html (every figure drawn in the page, fit tables, model and run metadata, prompt-set
 * hashes), each figure's static SVG in figures/, and summary.md for a CI job summary. Fits every
 * measured hook, and the writing weights, for the tables.
 */
import { join } from 'node:path';
import type { Reporter } from '../messages/reporter.js';
import { FIGURES } from '../figures/figure-registry.js';
import { figureFile, fitTable, headlineLines, modelTable, runTable, weightFitTable, type ReportContent, type ReportFigure } from '../report/report-content.js';
import { renderReportHtml } from '../report/report-html.js';
import { readRuntimeScripts } from '../report/report-runtime.js';
import { renderReportMarkdown } from '../report/report-markdown.js';
import { OutputPlan } from '../io/output-plan.js';
import { toolVersion } from '../version.js';
import type { FigureOutcome } from '../figures/figure-types.js';
import { createOutputFolder, loadFigurePlan, type FigureSource } from '../figure-inputs/plot-inputs.js';
import { renderFigure, reportOutcomes } from '../rendering/figure-outcomes.js';

export interface ReportRequest extends FigureSource {
  outDir: string;
  /** Figures drawn elsewhere (a sweep's, src/sweep/sweep-folder.ts), added after the plan's. */
  extraFigures?: readonly ExtraFigure[];
}

/** A figure the report shows besides those of the figure registry. */
export type ExtraFigure = Pick<ReportFigure, 'figure' | 'stem' | 'summary' | 'subject'> & { outcome: FigureOutcome };

export async function runReport(request: ReportRequest, reporter: Reporter): Promise<ReportContent> {
  const { subjects, weights, mechanisms, plan, inputs } = await loadFigurePlan(request, { fitHooks: 'all', fitWeights: true }, reporter);
  // Every file of the report (each figure drawn, the page, the summary) checked before the first is written.
  const drawn = [...plan, ...(request.extraFigures ?? [])].filter(({ outcome }) => outcome.drawn).map((entry) => figureFile(entry));
  const pages = ['index.html', 'summary.md'];
  const outputs = await OutputPlan.check(
    [...drawn, ...pages].map((name) => ({ flag: '--out', path: join(request.outDir, name), root: request.outDir })),
    inputs,
  );
  await createOutputFolder(request.outDir);
  await createOutputFolder(join(request.outDir, 'figures'));
  reportOutcomes(plan, reporter);
  const figures: ReportFigure[] = [];
  const files = subjects.length + weights.length + (mechanisms?.length ?? 0);
  const draw = async (entry: ReportFigure, outcome: FigureOutcome): Promise<void> => {
    if (outcome.drawn) {
      const svg = await renderFigure(outcome.spec, entry.stem, reporter);
      await outputs.write(join(request.outDir, figureFile(entry)), svg);
      figures.push({ ...entry, spec: outcome.spec, svg, ...(outcome.note === undefined ? {} : { note: outcome.note }) });
    } else {
      figures.push({ ...entry, reason: outcome.reason });
    }
  };
  for (const { figure, stem, source, outcome } of plan) {
    const subject = source === undefined ? undefined : files === 1 ? source.model : `${source.model} (${source.path})`;
    await draw({ figure, stem, summary: FIGURES[figure].summary, subject }, outcome);
  }
  for (const { outcome, ...entry } of request.extraFigures ?? []) await draw(entry, outcome);
  const content: ReportContent = {
    toolVersion: toolVersion(),
    headline: headlineLines(subjects),
    models: modelTable(subjects, weights),
    runs: runTable(subjects),
    fits: fitTable(subjects),
    weightFits: weightFitTable(weights),
    figures,
  };
  await outputs.write(join(request.outDir, 'index.html'), renderReportHtml(content, await readRuntimeScripts()));
  await outputs.write(join(request.outDir, 'summary.md'), renderReportMarkdown(content));
  reporter.info(
    `wrote ${join(request.outDir, 'index.html')} (${figures.filter((entry) => entry.svg !== undefined).length} figures, also as SVG files in figures/) and summary.md`,
  );
  return content;
}
