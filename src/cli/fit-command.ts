/**
 * `resid-norms fit`: flags → typed options for src/commands/fit.ts. Every flag value is
 * checked here, all problems at once, before any file is read.
 */
import { Command, Option } from 'commander';
import { FIT_DEFAULTS } from '../analysis/growth-fit.js';
import { LAYER_STATISTICS, type LayerStatistic } from '../analysis/layer-statistic.js';
import { ProblemList, UsageError, quote } from '../errors.js';
import { HOOK_NAMES, NORM_METRICS, type HookName, type NormMetric } from '../results/schema.js';
import { runFit, type FitCommandOptions, type GrowthRange, type LayerRange } from '../commands/fit.js';
import { createConsoleReporter } from './reporter.js';
import { globalOptions } from './program.js';

interface RawFitFlags {
  hook: string[];
  layers?: string;
  stat: LayerStatistic;
  metric?: NormMetric;
  bootstrap: string;
  seed: string;
  segments?: string;
  minSegment: string;
  maxSegments: string;
  expect?: string;
  json: boolean;
  out?: string;
}

export function registerFitCommand(parent: Command): void {
  parent
    .command('fit')
    .description('Fit the exponential growth of norms over layers from results files (never the model).')
    .argument('<results...>', 'results files written by `resid-norms measure`; one row per file and hook')
    .option('--hook <names>', `hook(s), comma-separated or repeated: ${HOOK_NAMES.join(', ')} (default: resid_pre)`, collect, [])
    .option('--layers <A:B>', 'inclusive layer range, 0-based; open ends allowed: 5: or :20 (default: all layers)')
    .addOption(new Option('--stat <stat>', 'per-layer statistic over tokens').choices(LAYER_STATISTICS).default(FIT_DEFAULTS.stat))
    .addOption(new Option('--metric <metric>', "norm metric (default: the file's primary metric)").choices(NORM_METRICS))
    .option('--bootstrap <n>', 'resamples of the prompts for the bootstrap interval; 0 = off', String(FIT_DEFAULTS.bootstrap))
    .option('--seed <n>', 'seed of the bootstrap (same seed, same interval)', String(FIT_DEFAULTS.seed))
    .option('--segments <n>', 'force this many growth phases (default: chosen by BIC)')
    .option('--min-segment <n>', 'fewest layers in one phase (≥ 3)', String(FIT_DEFAULTS.minSegment))
    .option('--max-segments <n>', 'most phases BIC may choose', String(FIT_DEFAULTS.maxSegments))
    .option('--expect <LO..HI>', 'exit 1 unless every fitted growth factor lies in [LO, HI], e.g. 1.03..1.06')
    .option('--json', 'print the fit document (JSON) instead of a table', false)
    .option('--out <file>', 'also write the fit document to this file (for plot and report)')
    .action(async (files: string[], flags: RawFitFlags, command: Command) => {
      const options = parseFitFlags(files, flags);
      const reporter = createConsoleReporter({ quiet: globalOptions(command).quiet });
      await runFit(options, { reporter, write: (text) => void process.stdout.write(text) });
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parseFitFlags(files: string[], flags: RawFitFlags): FitCommandOptions {
  const problems = new ProblemList();
  const hooks = parseHooks(flags.hook, problems);
  const layers = flags.layers === undefined ? {} : parseLayerRange(flags.layers, problems);
  const expect = flags.expect === undefined ? undefined : parseGrowthRange(flags.expect, problems);
  const bootstrap = parseInteger('--bootstrap', flags.bootstrap, 0, problems);
  const seed = parseInteger('--seed', flags.seed, 0, problems);
  const segments = flags.segments === undefined ? undefined : parseInteger('--segments', flags.segments, 1, problems);
  const minSegment = parseInteger('--min-segment', flags.minSegment, 3, problems);
  const maxSegments = parseInteger('--max-segments', flags.maxSegments, 1, problems);
  problems.throwIfAny((message) => new UsageError(message));
  return {
    files,
    hooks,
    layers,
    stat: flags.stat,
    ...(flags.metric === undefined ? {} : { metric: flags.metric }),
    bootstrap,
    seed,
    ...(segments === undefined ? {} : { segments }),
    minSegment,
    maxSegments,
    ...(expect === undefined ? {} : { expect }),
    json: flags.json,
    ...(flags.out === undefined ? {} : { out: flags.out }),
  };
}

/** "resid_pre,resid_post" (or the flag repeated) → hook names; default resid_pre. */
export function parseHooks(values: readonly string[], problems: ProblemList): HookName[] {
  const names = values.flatMap((value) => value.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) return ['resid_pre'];
  const hooks: HookName[] = [];
  for (const name of names) {
    const short = name.replace(/^(blocks\.\d+\.)?hook_/, '');
    if ((HOOK_NAMES as readonly string[]).includes(short)) {
      if (!hooks.includes(short as HookName)) hooks.push(short as HookName);
    } else {
      problems.add(`--hook ${quote(name)} is not a hook; valid: ${HOOK_NAMES.join(', ')}`);
    }
  }
  return hooks;
}

/** "A:B", "A:", ":B" or ":" → inclusive range with open ends left undefined. */
export function parseLayerRange(text: string, problems: ProblemList): LayerRange {
  const match = /^\s*(\d+)?\s*:\s*(\d+)?\s*$/.exec(text);
  if (match === null) {
    problems.add(`--layers ${quote(text)} is not a layer range; give A:B (inclusive, 0-based, e.g. 5:41), A: or :B`);
    return {};
  }
  const range: LayerRange = {};
  if (match[1] !== undefined) range.from = Number(match[1]);
  if (match[2] !== undefined) range.to = Number(match[2]);
  if (range.from !== undefined && range.to !== undefined && range.from > range.to) {
    problems.add(`--layers ${quote(text)} runs backwards; give A:B with A ≤ B`);
  }
  return range;
}

/** "1.03..1.06", "1.03.." or "..1.06" → growth factor bounds. */
export function parseGrowthRange(text: string, problems: ProblemList): GrowthRange | undefined {
  const number = String.raw`(\d+(?:\.\d*)?|\.\d+)`;
  const match = new RegExp(String.raw`^\s*${number}?\s*\.\.\s*${number}?\s*$`).exec(text);
  if (match === null || (match[1] === undefined && match[2] === undefined)) {
    problems.add(`--expect ${quote(text)} is not a growth range; give LO..HI (e.g. 1.03..1.06), LO.. or ..HI`);
    return undefined;
  }
  const range: GrowthRange = {};
  if (match[1] !== undefined) range.low = Number(match[1]);
  if (match[2] !== undefined) range.high = Number(match[2]);
  if (range.low !== undefined && range.high !== undefined && range.low > range.high) {
    problems.add(`--expect ${quote(text)} runs backwards; give LO..HI with LO ≤ HI`);
  }
  if (range.low === 0 || range.high === 0) problems.add(`--expect ${quote(text)} has a bound of 0; growth factors are positive`);
  return range;
}

function parseInteger(flag: string, text: string, min: number, problems: ProblemList): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    problems.add(`${flag} ${quote(text)} is not a whole number ≥ ${min}`);
    return min;
  }
  return value;
}
