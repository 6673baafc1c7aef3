/**
 * What `plot` and `report` draw from: the results files of `measure`, validated, each with its
 * growth fits, either computed here (fitGrowth) or read from a fit file written by `fit --out`;
 * and the weights files of `weights`, told apart by their format and paired with results files
 * in ./weights-inputs.ts.
 */
import { mkdir } from 'node:fs/promises';
import type { Reporter } from '../messages/reporter.js';
import { InputError, ProblemList, ResidNormsError, UsageError, quote } from '../errors.js';
import { anyDiagnostics } from '../figures/diagnostic-data.js';
import { defaultFigures, planFigures, type PlannedFigure } from '../figures/figure-plan.js';
import { FIGURES, type FigureName } from '../figures/figure-registry.js';
import { everyNthLayer } from '../figures/plot-data.js';
import type { TokenViewKind } from '../figures/token-view-types.js';
import { gatherTokenViews } from './token-views.js';
import type { FigureOptions, FitLine, MechanismsSubject, PlotInputs, PlotSubject } from '../figures/figure-types.js';
import type { FitEntry } from '../results/fit-schema.js';
import { readFit } from '../results/read-fit.js';
import type { Measurement } from '../results/schema.js';
import type { HookName } from '../vocabulary/hooks.js';
import { fitMeasurementFile } from '../store/fit-measurement.js';
import { documentInputs, readResultsDocument, type MeasurementFile } from '../store/open-results.js';
import type { InputFile } from '../io/output-guard.js';
import type { WeightVariant, WeightsFile } from '../results/weights-schema.js';
import { loadWeightsSubjects } from './weights-inputs.js';

export interface PlotInputOptions {
  files: readonly string[];
  /** Hooks to fit (those the chosen figures draw, or every hook for a report). */
  fitHooks: readonly HookName[] | 'all';
  /** A fit file to take fits from instead of fitting. */
  fitFile?: string;
  /** Sequence the per-prompt figure draws, checked against every file when given. */
  prompt?: number;
  /** Fit the series the weights figure draws (it is drawn, or a report's table needs them). */
  fitWeights: boolean;
  /** Variant of the weights drawn and fitted; default: each weights file's primary one. */
  variant?: WeightVariant;
}

/** The part of a `plot` or `report` request that says what to draw, and from what. */
export interface FigureSource {
  files: string[];
  /** Figures to draw; every figure the inputs allow when absent. */
  figures?: FigureName[];
  figureOptions: FigureOptions;
  /** Fit file from `fit --out`; without it, fits are computed here. */
  fitFile?: string;
}

/** Read the inputs, fitting what `fits` asks for, and plan the figures: how `plot` and `report` both begin. */
export async function loadFigurePlan(
  source: FigureSource,
  fits: Pick<PlotInputOptions, 'fitHooks' | 'fitWeights'>,
  reporter: Reporter,
): Promise<PlotInputs & { plan: PlannedFigure[]; inputs: InputFile[] }> {
  const { figures, figureOptions } = source;
  const inputs = await loadPlotInputs(
    {
      files: source.files,
      ...fits,
      ...(source.fitFile === undefined ? {} : { fitFile: source.fitFile }),
      ...((figures ?? ['tokens']).includes('tokens') ? { prompt: figureOptions.prompt } : {}),
      ...(figureOptions.variant === undefined ? {} : { variant: figureOptions.variant }),
    },
    reporter,
  );
  const mechanisms = inputs.mechanisms ?? [];
  const names =
    figures ??
    defaultFigures(
      inputs.subjects.length > 0,
      inputs.weights.length > 0,
      mechanisms.length > 0,
      anyDiagnostics(inputs.subjects.map(({ measurement }) => measurement)),
    );
  const kinds = new Set(
    names.flatMap((name): TokenViewKind[] => {
      const figure = FIGURES[name];
      return figure.scope === 'model' && figure.tokenView !== undefined ? [figure.tokenView] : [];
    }),
  );
  if (kinds.size > 0) {
    for (const subject of inputs.subjects) {
      const { measurement } = subject;
      subject.views = await gatherTokenViews(await inputs.files.get(subject)!.tokens(), measurement, {
        kinds,
        hook: figureOptions.hook ?? 'resid_pre',
        prompt: figureOptions.prompt,
        histogramLayers: everyNthLayer(measurement.model.nLayers),
      });
    }
  }
  return { ...inputs, plan: planFigures(inputs.subjects, names, figureOptions, inputs.weights, mechanisms) };
}

/** Read every input file (all problems reported at once), then attach fits and pair weights with results. */
export async function loadPlotInputs(
  options: PlotInputOptions,
  reporter: Reporter,
): Promise<PlotInputs & { files: Map<PlotSubject, MeasurementFile>; inputs: InputFile[] }> {
  if (options.files.length === 0) {
    throw new UsageError('no results files given; give one or more JSON files written by `resid-norms measure` (or `resid-norms weights`)');
  }
  const problems = new ProblemList();
  const measurements: MeasurementFile[] = [];
  const weightsFiles: Array<{ path: string; weights: WeightsFile }> = [];
  const mechanisms: MechanismsSubject[] = [];
  // Every file read (tables and the fit file included): no output of the command may replace one.
  const inputs: InputFile[] = options.fitFile === undefined ? [] : [{ path: options.fitFile, what: 'the fit file' }];
  for (const path of options.files) {
    try {
      const document = await readResultsDocument(path);
      for (const input of documentInputs(path, document)) inputs.push(input);
      if (document.kind === 'weights') weightsFiles.push({ path, weights: document.weights });
      else if (document.kind === 'mechanisms') mechanisms.push({ path, mechanisms: document.mechanisms });
      else {
        await document.file.tokens(); // its tables opened now: tables of another run, or damaged, are refused with the other problems
        measurements.push(document.file);
      }
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.add(error.message);
    }
  }
  problems.throwIfAny((message) => new InputError(message));
  if (options.prompt !== undefined) checkPrompt(measurements, options.prompt);
  const fitFile = options.fitFile === undefined ? undefined : await readFit(options.fitFile);
  const subjects: PlotSubject[] = [];
  const files = new Map<PlotSubject, MeasurementFile>();
  for (const file of measurements) {
    const { path, measurement } = file;
    const hooks = options.fitHooks === 'all' ? measurement.hooks : options.fitHooks.filter((hook) => measurement.hooks.includes(hook));
    const fits = fitFile === undefined ? await computeFits(file, hooks, reporter) : pickFits(fitFile.fits, measurement, path, hooks, reporter);
    const subject: PlotSubject = { path, measurement, fits };
    subjects.push(subject);
    files.set(subject, file);
  }
  const weightFits = fitFile === undefined ? undefined : (fitFile.weightFits ?? []);
  const weights = loadWeightsSubjects(
    weightsFiles,
    subjects,
    {
      fit: options.fitWeights,
      ...(options.variant === undefined ? {} : { variant: options.variant }),
      ...(weightFits === undefined ? {} : { fitEntries: weightFits }),
    },
    reporter,
  );
  return { subjects, weights, mechanisms, files, inputs };
}

function checkPrompt(measurements: readonly MeasurementFile[], prompt: number): void {
  for (const { path, measurement } of measurements) {
    const count = measurement.prompts.count;
    if (prompt >= count) {
      const valid = count === 0 ? 'it has no per-prompt data' : `valid: 0–${count - 1}`;
      throw new UsageError(`--prompt ${prompt} is out of range for ${quote(path)} (${measurement.model.id}, ${count} prompts; ${valid})`);
    }
  }
}

async function computeFits(file: MeasurementFile, hooks: readonly HookName[], reporter: Reporter): Promise<Partial<Record<HookName, FitLine>>> {
  const fits: Partial<Record<HookName, FitLine>> = {};
  const { path } = file;
  for (const hook of hooks) {
    try {
      fits[hook] = await fitMeasurementFile(file, { hook, label: path });
    } catch (error) {
      if (!(error instanceof ResidNormsError)) throw error;
      reporter.warn(`no growth fit of ${hook} for ${path}: ${error.message}`);
    }
  }
  return fits;
}

/** The fit file's fits for this results file: same source path, else same model; of the metric figures draw. */
function pickFits(
  entries: readonly FitEntry[],
  measurement: Measurement,
  path: string,
  hooks: readonly HookName[],
  reporter: Reporter,
): Partial<Record<HookName, FitLine>> {
  const fits: Partial<Record<HookName, FitLine>> = {};
  const metric = measurement.options.primaryMetric;
  for (const hook of hooks) {
    const candidates = entries.filter((entry) => entry.hook === hook && entry.model === measurement.model.id);
    const chosen = candidates.find((entry) => entry.source === path) ?? candidates[0];
    if (chosen === undefined) {
      reporter.warn(`the fit file has no ${hook} fit for ${measurement.model.id} (${path}); figures show no fit line for it`);
    } else if (chosen.metric !== metric) {
      reporter.warn(`the fit file's ${hook} fit for ${measurement.model.id} is of ${chosen.metric} norms; figures draw ${metric} norms, so it is left out`);
    } else {
      fits[hook] = chosen;
    }
  }
  return fits;
}

/** Create the output folder, or say in one line why it cannot be. */
export async function createOutputFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? 'a file is in the way'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EROFS'
            ? 'read-only file system'
            : (code ?? 'unknown error');
    throw new UsageError(`cannot create output folder ${quote(folder)}: ${why}; give --out a folder that can be created`);
  }
}
