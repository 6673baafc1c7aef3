/**
 * `resid-norms fit`: growth fits of one or more results files, one per file and hook, as a
 * table or JSON on stdout and optionally a fit file; then the --expect gate.
 */
import type { Reporter } from '../cli/reporter.js';
import { fitGrowth, type FitGrowthOptions } from '../analysis/growth-fit.js';
import type { LayerStatistic } from '../analysis/layer-statistic.js';
import { ExpectationError, ProblemList } from '../errors.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { FIT_FORMAT, FIT_VERSION, type FitEntry, type FitFile } from '../results/fit-schema.js';
import { readMeasurement } from '../results/read-measurement.js';
import type { HookName, NormMetric } from '../results/schema.js';
import { toolVersion } from '../version.js';
import { formatFitTable, formatGrowth } from './fit-table.js';

/** Inclusive layer range; an undefined end is open (first or last layer of each model). */
export interface LayerRange {
  from?: number;
  to?: number;
}

/** Accepted growth factors for --expect; an undefined bound is open. */
export interface GrowthRange {
  low?: number;
  high?: number;
}

export interface FitCommandOptions {
  files: string[];
  hooks: HookName[];
  layers: LayerRange;
  stat: LayerStatistic;
  metric?: NormMetric;
  bootstrap: number;
  seed: number;
  segments?: number;
  minSegment: number;
  maxSegments: number;
  expect?: GrowthRange;
  json: boolean;
  out?: string;
}

export interface FitOutput {
  reporter: Reporter;
  /** Results (table or JSON) go here: stdout for the CLI. */
  write: (text: string) => void;
}

export async function runFit(options: FitCommandOptions, output: FitOutput): Promise<FitFile> {
  const fits: FitEntry[] = [];
  for (const file of options.files) {
    const measurement = await readMeasurement(file);
    for (const hook of options.hooks) {
      const fitOptions: FitGrowthOptions = {
        hook,
        metric: options.metric,
        stat: options.stat,
        fromLayer: options.layers.from,
        toLayer: options.layers.to,
        bootstrap: options.bootstrap,
        seed: options.seed,
        segments: options.segments,
        minSegment: options.minSegment,
        maxSegments: options.maxSegments,
        label: file,
      };
      const fit = fitGrowth(measurement, fitOptions);
      if (fit.bootstrap === null && options.bootstrap > 0 && hook === options.hooks[0]) {
        output.reporter.warn(
          `${file}: ${fit.sequences < 2 ? `${fit.sequences} prompt with tokens` : 'no per-sequence data'}, so no bootstrap over prompts; its interval is the regression's, which assumes independent layers`,
        );
      }
      fits.push({ source: file, ...fit });
    }
  }
  const document: FitFile = { format: FIT_FORMAT, version: FIT_VERSION, createdBy: { tool: 'resid-norms', version: toolVersion() }, fits };
  const json = `${JSON.stringify(document, null, 2)}\n`;
  output.write(options.json ? json : formatFitTable(fits));
  if (options.out !== undefined) {
    await writeFileAtomic(options.out, json);
    output.reporter.info(`wrote ${fits.length} fit${fits.length === 1 ? '' : 's'} to ${options.out}`);
  }
  if (options.expect !== undefined) checkExpectation(fits, options.expect);
  return document;
}

/** The gate: every fitted growth factor (the point estimate) must lie inside the range. */
export function checkExpectation(fits: readonly FitEntry[], range: GrowthRange): void {
  const shown = `${range.low ?? ''}..${range.high ?? ''}`;
  const problems = new ProblemList();
  for (const fit of fits) {
    if ((range.low !== undefined && fit.growth < range.low) || (range.high !== undefined && fit.growth > range.high)) {
      problems.add(
        `${fit.source} ${fit.hook} layers ${fit.fromLayer}:${fit.toLayer}: growth ${formatGrowth(fit.growth)} (95% CI ${formatGrowth(fit.ciLow)}–${formatGrowth(fit.ciHigh)}, ${fit.ciMethod})`,
      );
    }
  }
  problems.throwIfAny(
    (message) => new ExpectationError(`growth outside --expect ${shown} in ${problems.count} of ${fits.length} fits: ${message}`),
  );
}
