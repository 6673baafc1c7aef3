/**
 * `resid-norms fit`: growth fits of one or more results files, one per file and hook (or, for
 * weights files, per file and series), as a table or JSON on stdout and optionally a fit
 * file; then the --expect gate.
 */
import type { Reporter } from '../messages/reporter.js';
import type { FitGrowthOptions } from '../analysis/growth-fit.js';
import type { LayerStatistic } from '../analysis/layer-statistic.js';
import { REFERENCE_PROCEDURE, referenceLayers } from '../analysis/reference-procedure.js';
import { fitWeightGrowth } from '../analysis/weight-growth-fit.js';
import { ExpectationError, InputError, ProblemList, UsageError, quote } from '../errors.js';
import { OutputPlan, type PlannedOutput } from '../io/output-plan.js';
import type { InputFile } from '../io/output-guard.js';
import { formatJunit, isOutsideRange, type GrowthRange } from './fit-junit.js';
import { FIT_FORMAT, FIT_VERSION, type FitEntry, type FitFile, type FitMethod, type WeightFitEntry } from '../results/fit-schema.js';
import { fitMeasurementFile } from '../store/fit-measurement.js';
import { documentInputs, readResultsDocument, type ResultsDocument } from '../store/open-results.js';
import { headlineHook, type HookName, type NormMetric } from '../vocabulary/hooks.js';
import type { WeightSeriesName, WeightVariant, WeightsFile } from '../results/weights-schema.js';
import { toolVersion } from '../version.js';
import { formatFitTable } from '../text-tables/fit-table.js';
import { formatFactor, formatInterval } from '../messages/numbers.js';
import { formatWeightFitTable } from '../text-tables/weight-fit-table.js';

/** Inclusive layer range; an undefined end is open (first or last layer of each model). */
export interface LayerRange {
  from?: number;
  to?: number;
}

export type { GrowthRange } from './fit-junit.js';

export interface FitCommandOptions {
  files: string[];
  /** Hooks fitted in results files; absent: each file's headline hook (resid_post when measured). */
  hooks?: HookName[];
  layers: LayerRange;
  stat: LayerStatistic;
  /** Headline estimator (both are computed); default ols. */
  method?: FitMethod;
  metric?: NormMetric;
  /** The reference analysis's procedure: resid_post, its relative layer range, endpoints, mean, centered (overrides hooks, layers, stat, method, metric). */
  likeReference?: boolean;
  bootstrap: number;
  seed: number;
  segments?: number;
  minSegment: number;
  maxSegments: number;
  /** Series fitted in weights files (default: DEFAULT_WEIGHT_SERIES). */
  series?: WeightSeriesName[];
  /** Variant of weights files (default: each file's primary variant). */
  variant?: WeightVariant;
  expect?: GrowthRange;
  json: boolean;
  /** The wide table: both estimators and both intervals (default: the narrow one, 100 columns). */
  wide?: boolean;
  out?: string;
  /** Write the gate's outcome as JUnit XML here, whatever it is (then the gate applies). */
  junit?: string;
}

export interface FitOutput {
  reporter: Reporter;
  /** Results (table or JSON) go here: stdout for the CLI. */
  write: (text: string) => void;
}

/** Series fitted in weights files when --series is not given: the writing weights of figure 9 that every architecture has. */
export const DEFAULT_WEIGHT_SERIES: readonly WeightSeriesName[] = ['W_OV', 'W_out'];

export async function runFit(options: FitCommandOptions, output: FitOutput): Promise<FitFile> {
  const fits: FitEntry[] = [];
  const weightFits: WeightFitEntry[] = [];
  const documents: Array<{ file: string; document: ResultsDocument }> = [];
  const inputs: InputFile[] = [];
  for (const file of options.files) {
    const document = await readResultsDocument(file);
    documents.push({ file, document });
    for (const input of documentInputs(file, document)) inputs.push(input);
  }
  // Both outputs checked, against each other and every file read (tables included), before any work.
  const planned: PlannedOutput[] = [
    ...(options.out !== undefined ? [{ flag: '--out', path: options.out }] : []),
    ...(options.junit !== undefined ? [{ flag: '--junit', path: options.junit }] : []),
  ];
  const plan = await OutputPlan.check(planned, inputs);
  for (const { file, document } of documents) {
    if (document.kind === 'weights') {
      for (const fit of fitWeightsFile(document.weights, file, options)) weightFits.push(fit);
      continue;
    }
    if (document.kind === 'mechanisms')
      throw new InputError(`${quote(file)} is a mechanisms file, which has nothing to fit; give results files of \`resid-norms measure\` or weights files`);
    const reference = options.likeReference ? { ...REFERENCE_PROCEDURE, ...referenceLayers(document.file.measurement.model.nLayers) } : undefined;
    const hooks = reference ? [reference.hook] : (options.hooks ?? [headlineHook(document.file.measurement.hooks)]);
    for (const hook of hooks) {
      const fitOptions: FitGrowthOptions = {
        hook,
        metric: reference?.metric ?? options.metric,
        stat: reference?.stat ?? options.stat,
        method: reference?.method ?? options.method,
        fromLayer: reference?.fromLayer ?? options.layers.from,
        toLayer: reference?.toLayer ?? options.layers.to,
        bootstrap: options.bootstrap,
        seed: options.seed,
        segments: options.segments,
        minSegment: options.minSegment,
        maxSegments: options.maxSegments,
        label: file,
      };
      const fit = await fitMeasurementFile(document.file, fitOptions);
      if (fit.bootstrap === null && options.bootstrap > 0 && hook === hooks[0]) {
        output.reporter.warn(
          `${file}: ${fit.sequences < 2 ? `${fit.sequences} prompt with tokens` : 'no per-sequence data'}, so no bootstrap over prompts; its interval is the regression's, which assumes independent layers`,
        );
      }
      fits.push({ source: file, ...fit });
    }
  }
  if (weightFits.length === 0 && (options.series !== undefined || options.variant !== undefined)) {
    throw new UsageError(
      '--series and --variant apply to weights files (written by `resid-norms weights`), and none was given; for results of `measure`, use --hook',
    );
  }
  const document: FitFile = {
    format: FIT_FORMAT,
    version: FIT_VERSION,
    createdBy: { tool: 'resid-norms', version: toolVersion() },
    fits,
    ...(weightFits.length > 0 ? { weightFits } : {}),
  };
  const json = `${JSON.stringify(document, null, 2)}\n`;
  // The files first: a path that cannot be written fails before anything is printed.
  if (options.out !== undefined) await plan.write(options.out, json);
  if (options.junit !== undefined) await plan.write(options.junit, formatJunit(document, options.expect));
  const tables: string[] = [];
  const wide = options.wide === true;
  if (fits.length > 0) tables.push(formatFitTable(fits, { wide }));
  if (weightFits.length > 0) tables.push(formatWeightFitTable(weightFits, { wide }));
  output.write(options.json ? json : tables.join('\n'));
  if (options.out !== undefined) {
    const count = fits.length + weightFits.length;
    output.reporter.info(`wrote ${count} fit${count === 1 ? '' : 's'} to ${options.out}`);
  }
  if (options.junit !== undefined) output.reporter.info(`wrote the gate's outcome to ${options.junit}`);
  if (options.expect !== undefined) checkExpectation([...fits, ...weightFits], options.expect);
  return document;
}

function fitWeightsFile(weights: WeightsFile, file: string, options: FitCommandOptions): WeightFitEntry[] {
  return (options.series ?? DEFAULT_WEIGHT_SERIES).map((series) => ({
    source: file,
    ...fitWeightGrowth(weights, {
      series,
      variant: options.variant,
      fromLayer: options.layers.from,
      toLayer: options.layers.to,
      segments: options.segments,
      minSegment: options.minSegment,
      maxSegments: options.maxSegments,
      label: file,
    }),
  }));
}

/** The gate: every fitted growth factor (the point estimate) must lie inside the range. */
export function checkExpectation(fits: ReadonlyArray<FitEntry | WeightFitEntry>, range: GrowthRange): void {
  const shown = `${range.low ?? ''}..${range.high ?? ''}`;
  const problems = new ProblemList();
  for (const fit of fits) {
    if (isOutsideRange(fit.growth, range)) {
      problems.add(
        `${fit.source} ${'hook' in fit ? fit.hook : `${fit.variant} ${fit.series}`} layers ${fit.fromLayer}:${fit.toLayer}: growth ${formatFactor(fit.growth)} (95% CI ${formatInterval(fit.ciLow, fit.ciHigh)}, ${fit.ciMethod})`,
      );
    }
  }
  problems.throwIfAny((message) => new ExpectationError(`growth outside --expect ${shown} in ${problems.count} of ${fits.length} fits: ${message}`));
}
