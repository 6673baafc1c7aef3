/**
 * `resid-norms fit`: flags → typed options for src/commands/fit.ts. Each flag value is
 * parsed by commander as it is read, with the shared parsers of ./options.ts where they fit.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { FIT_DEFAULTS } from '../analysis/growth-fit.js';
import { LAYER_STATISTICS } from '../analysis/layer-statistic.js';
import { HOOK_NAMES, NORM_METRICS, type HookName } from '../vocabulary/hooks.js';
import { FIT_METHODS } from '../results/fit-schema.js';
import { UsageError } from '../errors.js';
import { DEFAULT_WEIGHT_SERIES, runFit, type FitCommandOptions, type GrowthRange, type LayerRange } from '../commands/fit.js';
import { WEIGHT_SERIES, WEIGHT_VARIANTS, type WeightSeriesName } from '../results/weights-schema.js';
import { FLAG_RANGES, parseHooks, parsePositiveInt, rangeOf } from './options.js';
import { guardFileCommand, inputFiles } from '../io/output-guard.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { sortInputs } from './input-sorting.js';

/** The options under the flags' names: --hook (repeatable) and --layers, both with defaults here; --junit is the CLI's. */
type FitFlags = Omit<FitCommandOptions, 'files' | 'hooks' | 'layers'> & { hook?: HookName[]; layers?: LayerRange };

export const fitCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  return command
    .argument(
      '<results...>',
      'results files written by `resid-norms measure` (one row per file and hook) or `resid-norms weights` (one row per file and series)',
    )
    .option(
      '--hook <list>',
      `comma-separated hooks, or the flag repeated: ${HOOK_NAMES.join(',')} (default: resid_post, the headline; resid_pre where it was not measured)`,
      collectHooks,
    )
    .option('--layers <A:B>', 'inclusive layer range, 0-based; open ends allowed: 5: or :20 (default: all layers)', parseLayerRange)
    .addOption(
      new Option('--stat <stat>', 'per-layer statistic over tokens (geomean: exp of the mean ln norm)').choices(LAYER_STATISTICS).default(FIT_DEFAULTS.stat),
    )
    .addOption(
      new Option(
        '--method <method>',
        'headline estimator: ols (least squares over every layer) or endpoints ((m_b/m_a)^(1/(b−a)), the reference analysis); the table shows both',
      )
        .choices(FIT_METHODS)
        .default(FIT_DEFAULTS.method),
    )
    .option(
      '--like-reference',
      "the reference analysis's procedure: resid_post, layers 5:41 of 48 (the same relative range at other depths), endpoints, mean, centered",
      false,
    )
    .addOption(new Option('--metric <metric>', "norm metric (default: the file's primary metric)").choices(NORM_METRICS))
    .option(
      '--bootstrap <n>',
      `resamples of the prompts for the bootstrap interval; 0 = off (${FLAG_RANGES.bootstrap.join('…')})`,
      rangeOf('bootstrap'),
      FIT_DEFAULTS.bootstrap,
    )
    .option('--seed <n>', 'seed of the bootstrap (same seed, same interval; 0…2^32-1)', rangeOf('seed'), FIT_DEFAULTS.seed)
    .option('--segments <n>', 'force this many growth phases, 1…64 (default: chosen by BIC)', rangeOf('segments'))
    .option('--min-segment <n>', 'fewest layers in one phase (3…1024)', parseMinSegment, FIT_DEFAULTS.minSegment)
    .option('--max-segments <n>', 'most phases BIC may choose (1…64)', rangeOf('segments'), FIT_DEFAULTS.maxSegments)
    .option(
      '--series <list>',
      `weights files: comma-separated series, or the flag repeated: ${WEIGHT_SERIES.join(',')} (default: ${DEFAULT_WEIGHT_SERIES.join(',')})`,
      collectSeries,
    )
    .addOption(
      new Option(
        '--variant <variant>',
        "weights files: raw (as stored) or processed (TransformerLens processing) (default: the file's primary variant, processed)",
      ).choices(WEIGHT_VARIANTS),
    )
    .option('--expect <LO..HI>', 'exit 1 unless every fitted growth factor lies in [LO, HI], e.g. 1.03..1.06', parseGrowthRange)
    .option('--wide', 'print the wide table: both estimators with their intervals and the regression interval (default: a table of 100 columns)', false)
    .option('--json', 'print the fit document (JSON) instead of a table', false)
    .option('--out <file>', 'also write the fit document to this file (for plot and report)')
    .option('--junit <file>', "write the --expect gate's outcome as JUnit XML (one testcase per fit) for CI test dashboards")
    .action(async (paths: string[], flags: FitFlags, command: Command) => {
      const { reporter, print } = commandContext(command, io);
      const { files } = await sortInputs(paths, { command: 'fit', takes: ['measurement', 'weights'] }, reporter);
      const outputs = [
        ...(flags.out !== undefined ? [{ flag: '--out', path: flags.out }] : []),
        ...(flags.junit !== undefined ? [{ flag: '--junit', path: flags.junit }] : []),
      ];
      await guardFileCommand(inputFiles(files), outputs);
      if (flags.likeReference) refuseWithReference(command);
      await runFit(toFitOptions(files, flags), { reporter, write: print });
    });
}

/** --like-reference fixes these: an explicit value would be silently ignored, so it is refused. */
function refuseWithReference(command: Command): void {
  const fixed = ['hook', 'layers', 'stat', 'method', 'metric'].filter((name) => command.getOptionValueSource(name) === 'cli');
  if (fixed.length > 0) {
    throw new UsageError(
      `--like-reference fixes ${fixed.map((name) => `--${name}`).join(', ')} (resid_post, layers 5:41 of 48 scaled to the depth, endpoints, mean, centered); drop ${fixed.length === 1 ? 'it' : 'them'} or drop --like-reference`,
    );
  }
}

function toFitOptions(files: string[], flags: FitFlags): FitCommandOptions {
  const { hook, layers, ...rest } = flags;
  return { ...rest, files, ...(hook !== undefined ? { hooks: hook } : {}), layers: layers ?? {} };
}

/** --series may be repeated; each value is a comma-separated list of weight series names. */
function collectSeries(value: string, previous: WeightSeriesName[] | undefined): WeightSeriesName[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.find((name) => !(WEIGHT_SERIES as readonly string[]).includes(name));
  if (names.length === 0 || unknown !== undefined)
    throw new InvalidArgumentError(`unknown weight series ${JSON.stringify(unknown ?? value)}; valid: ${WEIGHT_SERIES.join(', ')}`);
  return [...new Set([...(previous ?? []), ...(names as WeightSeriesName[])])];
}

/** --hook may be repeated; each value is a comma-separated list. */
function collectHooks(value: string, previous: HookName[] | undefined): HookName[] {
  return [...new Set([...(previous ?? []), ...parseHooks(value)])];
}

function parseMinSegment(value: string): number {
  const length = parsePositiveInt(value);
  if (length < 3) throw new InvalidArgumentError(`expected at least 3 layers (a line through 2 always fits), got ${length}`);
  return rangeOf('minSegment')(value);
}

/** "A:B", "A:", ":B" or ":" → inclusive range with open ends left undefined. */
export function parseLayerRange(text: string): LayerRange {
  const match = /^\s*(\d+)?\s*:\s*(\d+)?\s*$/.exec(text);
  if (match === null) throw new InvalidArgumentError('expected A:B (inclusive, 0-based, e.g. 5:41), A: or :B');
  const range: LayerRange = {};
  if (match[1] !== undefined) range.from = Number(match[1]);
  if (match[2] !== undefined) range.to = Number(match[2]);
  if (range.from !== undefined && range.to !== undefined && range.from > range.to) {
    throw new InvalidArgumentError('the range runs backwards; give A:B with A ≤ B');
  }
  return range;
}

/** "1.03..1.06", "1.03.." or "..1.06" → growth factor bounds. */
export function parseGrowthRange(text: string): GrowthRange {
  const number = String.raw`(\d+(?:\.\d*)?|\.\d+)`;
  const match = new RegExp(String.raw`^\s*${number}?\s*\.\.\s*${number}?\s*$`).exec(text);
  if (match === null || (match[1] === undefined && match[2] === undefined)) {
    throw new InvalidArgumentError('expected LO..HI (e.g. 1.03..1.06), LO.. or ..HI');
  }
  const range: GrowthRange = {};
  if (match[1] !== undefined) range.low = Number(match[1]);
  if (match[2] !== undefined) range.high = Number(match[2]);
  if (range.low !== undefined && range.high !== undefined && range.low > range.high) {
    throw new InvalidArgumentError('the range runs backwards; give LO..HI with LO ≤ HI');
  }
  if (range.low === 0 || range.high === 0) throw new InvalidArgumentError('growth factors are positive; give bounds > 0');
  return range;
}
