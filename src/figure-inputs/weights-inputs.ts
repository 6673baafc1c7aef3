/**
 * Weights files among the inputs of `plot` and `report`: each paired with the results file of
 * the same model id (whose attn_out / mlp_out the weights figure draws next to the weights),
 * and given growth fits of the series the figure draws — fitted here (fitWeightGrowth, all
 * layers) or taken from a fit file written by `fit --out`.
 */
import type { Reporter } from '../messages/reporter.js';
import { fitWeightGrowth } from '../analysis/weight-growth-fit.js';
import { presentSeries } from '../analysis/weight-series.js';
import { InputError, ProblemList, ResidNormsError, quote } from '../errors.js';
import type { PlotSubject, WeightFitLine, WeightsSubject } from '../figures/figure-types.js';
import { WRITING_WEIGHT_SERIES, checkSameModel } from '../figures/writing-weights-data.js';
import type { WeightFitEntry } from '../results/fit-schema.js';
import type { WeightSeriesName, WeightVariant, WeightsFile } from '../results/weights-schema.js';

export interface WeightsInputOptions {
  /** Fit the drawn series (else no fits). */
  fit: boolean;
  /** Default: each file's primary variant. */
  variant?: WeightVariant;
  /** Weight fits of a fit file, used instead of fitting. */
  fitEntries?: readonly WeightFitEntry[];
}

/**
 * Pair every weights file with the first results file of the same model id; refuse (all at
 * once) pairs whose ids match but whose models differ in shape.
 */
export function loadWeightsSubjects(
  files: ReadonlyArray<{ path: string; weights: WeightsFile }>,
  subjects: readonly PlotSubject[],
  options: WeightsInputOptions,
  reporter: Reporter,
): WeightsSubject[] {
  const problems = new ProblemList();
  const paired = files.map(({ path, weights }) => {
    const same = subjects.filter(({ measurement }) => measurement.model.id === weights.model.id);
    for (const subject of same) {
      try {
        checkSameModel(weights, subject.measurement);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        problems.add(`${quote(path)} and ${quote(subject.path)}: ${error.message}`);
      }
    }
    return { path, weights, same };
  });
  problems.throwIfAny((message) => new InputError(message));
  return paired.map(({ path, weights, same }) => {
    const variant = options.variant ?? weights.options.primaryVariant;
    const series = WRITING_WEIGHT_SERIES.filter((name) => presentSeries(weights, variant).includes(name));
    const fits = !options.fit
      ? {}
      : options.fitEntries === undefined
        ? fitSeries(weights, path, series, variant, reporter)
        : pickWeightFits(options.fitEntries, weights, path, series, variant, reporter);
    return { path, weights, measurement: same[0], pairingNote: pairingNote(weights, same, subjects), fits };
  });
}

function pairingNote(weights: WeightsFile, same: readonly PlotSubject[], subjects: readonly PlotSubject[]): string | undefined {
  const { id } = weights.model;
  if (subjects.length === 0) return `weights only: give a results file of ${id} (\`resid-norms measure\`) to draw attn_out and mlp_out next to them`;
  if (same.length === 0) {
    const ids = [...new Set(subjects.map(({ measurement }) => measurement.model.id))].join(', ');
    return `no results file of ${id} among the inputs (they hold ${ids}; weights and results are paired by model id), so attn_out and mlp_out are not drawn`;
  }
  if (same.length > 1)
    return `attn_out and mlp_out from ${same[0]!.path}; the other results files of ${id} (${same
      .slice(1)
      .map(({ path }) => path)
      .join(', ')}) are not drawn here`;
  return undefined;
}

function fitSeries(
  weights: WeightsFile,
  path: string,
  series: readonly WeightSeriesName[],
  variant: WeightVariant,
  reporter: Reporter,
): Partial<Record<WeightSeriesName, WeightFitLine>> {
  const fits: Partial<Record<WeightSeriesName, WeightFitLine>> = {};
  for (const name of series) {
    try {
      fits[name] = fitWeightGrowth(weights, { series: name, variant, label: path });
    } catch (error) {
      if (!(error instanceof ResidNormsError)) throw error;
      reporter.warn(`no growth fit of ${variant} ${name} for ${path}: ${error.message}`);
    }
  }
  return fits;
}

/** The fit file's fits for this weights file: same source path, else same model; of the variant drawn. */
function pickWeightFits(
  entries: readonly WeightFitEntry[],
  weights: WeightsFile,
  path: string,
  series: readonly WeightSeriesName[],
  variant: WeightVariant,
  reporter: Reporter,
): Partial<Record<WeightSeriesName, WeightFitLine>> {
  const fits: Partial<Record<WeightSeriesName, WeightFitLine>> = {};
  const missing: WeightSeriesName[] = [];
  for (const name of series) {
    const candidates = entries.filter((entry) => entry.series === name && entry.variant === variant && entry.model === weights.model.id);
    const chosen = candidates.find((entry) => entry.source === path) ?? candidates[0];
    if (chosen === undefined) missing.push(name);
    else fits[name] = chosen;
  }
  if (missing.length > 0) {
    reporter.warn(
      `the fit file has no ${variant} fit of ${missing.join(', ')} for ${weights.model.id} (${path}); the weights figure shows no rate for ${missing.length === 1 ? 'it' : 'them'}`,
    );
  }
  return fits;
}
