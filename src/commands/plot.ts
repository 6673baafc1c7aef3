/**
 * `resid-norms plot`: results and weights files → one SVG (and optionally PNG) per figure and
 * file, in an output folder. Figures that cannot be drawn from the input are named with the
 * reason.
 */
import { join } from 'node:path';
import type { Reporter } from '../messages/reporter.js';
import { InputError } from '../errors.js';
import { fitHooksFor } from '../figures/figure-plan.js';
import { FIGURE_NAMES } from '../figures/figure-registry.js';
import { renderFigure, reportOutcomes } from '../rendering/figure-outcomes.js';
import { rasterizeSvg } from '../rendering/render.js';
import { FORMAT_SUFFIXES, type ImageFormat } from '../rendering/image-formats.js';
import { OutputPlan } from '../io/output-plan.js';
import { createOutputFolder, loadFigurePlan, type FigureSource } from '../figure-inputs/plot-inputs.js';

export interface PlotRequest extends FigureSource {
  outDir: string;
  formats: ImageFormat[];
}

export interface PlotSummary {
  /** Paths of the files written. */
  written: string[];
  /** Figures that could not be drawn, with why. */
  skipped: Array<{ stem: string; reason: string }>;
}

export async function runPlot(request: PlotRequest, reporter: Reporter): Promise<PlotSummary> {
  const { plan, inputs } = await loadFigurePlan(
    request,
    {
      fitHooks: fitHooksFor(request.figures ?? FIGURE_NAMES, request.figureOptions),
      fitWeights: (request.figures ?? ['weights']).includes('weights'),
    },
    reporter,
  );
  const drawable = plan.filter((planned) => planned.outcome.drawn);
  if (drawable.length === 0) {
    const reasons = [...new Set(plan.map(({ outcome }) => (outcome.drawn ? '' : outcome.reason)))].join('; ');
    throw new InputError(`nothing to draw: ${reasons}; choose other figures with --figures`);
  }
  // Every file this run writes, checked together (against each other and every input) before the first is drawn.
  const pathOf = (stem: string, format: ImageFormat) => join(request.outDir, `${stem}${FORMAT_SUFFIXES[format]}`);
  const files = await OutputPlan.check(
    drawable.flatMap(({ stem }) => request.formats.map((format) => ({ flag: '--out', path: pathOf(stem, format), root: request.outDir }))),
    inputs,
  );
  await createOutputFolder(request.outDir);
  reportOutcomes(plan, reporter);
  const written: string[] = [];
  for (const { stem, outcome } of drawable) {
    if (!outcome.drawn) continue;
    const svg = await renderFigure(outcome.spec, stem, reporter);
    const contents: Record<ImageFormat, () => string | Uint8Array> = {
      svg: () => svg,
      json: () => `${JSON.stringify(outcome.spec, null, 2)}\n`,
      png: () => rasterizeSvg(svg),
    };
    for (const format of (['svg', 'json', 'png'] as const).filter((each) => request.formats.includes(each))) {
      await files.write(pathOf(stem, format), contents[format]());
      written.push(pathOf(stem, format));
    }
  }
  reporter.info(`wrote ${written.length} file${written.length === 1 ? '' : 's'} to ${request.outDir}`);
  const skipped = plan.flatMap(({ stem, outcome }) => (outcome.drawn ? [] : [{ stem, reason: outcome.reason }]));
  return { written, skipped };
}
