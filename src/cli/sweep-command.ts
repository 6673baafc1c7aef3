/** `resid-norms sweep` flags → a SweepRequest; prints one line per member to stdout. */
import type { MemoryAllocation } from '../runtime/memory-allocation.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { SweepOutcome, SweepRequest } from '../commands/sweep.js';
import { FIT_DEFAULTS } from '../analysis/growth-fit.js';
import { RESCALES, X_AXES, type Rescale, type XAxis } from '../figures/figure-types.js';
import { SWEEP_FIGURE_SUMMARIES } from '../figures/sweep-figures.js';
import { HEADLINE_HOOK, HOOK_NAMES, type HookName } from '../vocabulary/hooks.js';
import type { Device } from '../runtime/devices.js';
import { MAX_MEMBERS, parseModelList, parseRevisions, REVISION_SHORTHANDS } from '../sweep/sweep-members.js';
import { formatSweepTable } from '../text-tables/sweep-table.js';
import { MEASURE_STOP_MESSAGES, stopOnSignals } from './stop-on-signals.js';
import { addDeviceOptions, addMemoryOption, FLAG_RANGES, parseChoice, parseHooks, parseIntInRange, parseOneHook, rangeOf } from './options.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { addPromptOptions, addPromptSourceOption, toPromptOptions, type PromptFlagValues } from './prompt-flags.js';
import type { Reporter } from '../messages/reporter.js';
import { ResidNormsError, UsageError } from '../errors.js';

interface SweepFlags extends PromptFlagValues {
  models?: string[];
  model?: string;
  revisions?: string[];
  prompts?: string;
  out: string;
  hooks?: HookName[];
  batchSize: number;
  maxTokens?: number;
  prependBos: boolean;
  exclusions: boolean;
  includeBos: boolean;
  device: Device;
  threads?: number;
  maxMemory?: MemoryAllocation;
  refresh: boolean;
  takeOverLock: boolean;
  member?: number;
  collect: boolean;
  prepare: boolean;
  evict: boolean;
  hook: HookName;
  bootstrap: number;
  fitSeed: number;
  rescale: Rescale;
  x: XAxis;
}

/** The library's UsageErrors as commander's argument errors, so a bad value reads like any bad flag. */
function asArgument<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      if (error instanceof ResidNormsError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

export const sweepCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  const shorthands = Object.entries(REVISION_SHORTHANDS)
    .map(([name, { describe }]) => `${name} = ${describe}`)
    .join('; ');
  command
    .requiredOption('-o, --out <folder>', 'sweep folder: members/<member>.json results, sweep-plan.json, sweep.json, figures/')
    .option('--models <list>', 'comma-separated models: aliases, owner/name[@revision] or folders', asArgument(parseModelList))
    .option('-m, --model <name>', 'one model (with --revisions: its checkpoints)')
    .option(
      '--revisions <list>',
      `comma-separated revisions of every model (stepN, branches, tags, shas) or shorthands: ${shorthands}`,
      asArgument(parseRevisions),
    );
  addPromptSourceOption(command, "every member's prompt")
    .option('--hooks <list>', 'comma-separated hooks measured (default: all each model has)', parseHooks)
    .option('-b, --batch-size <n>', `prompts per batch (${FLAG_RANGES.batchSize.join('…')})`, rangeOf('batchSize'), 8)
    .option('--max-tokens <n>', "truncate prompts to n tokens, BOS included (default: each model's context length)", rangeOf('maxTokens'))
    .option('--no-prepend-bos', 'do not prepend the BOS token to text prompts')
    .option('--no-exclusions', 'keep position 0 and the special tokens (BOS, EOS, padding) in summaries and fits')
    .addOption(new Option('--include-bos', 'the old name of --no-exclusions').default(false).hideHelp());
  addMemoryOption(addDeviceOptions(command, io.env), io.env)
    .option('--refresh', 'ask the Hub for the newest commit of each revision even if it is cached', false)
    .option(
      '--take-over-lock',
      'take over the lock of a member from a process on another host, which cannot be checked from here (once you know it has ended)',
      false,
    )
    .option(
      '--member <i>',
      `measure only member i (1-based; one task of a job array, e.g. $SLURM_ARRAY_TASK_ID), then stop; 1…${MAX_MEMBERS}`,
      parseIntInRange(1, MAX_MEMBERS),
    )
    .option('--collect', 'measure nothing: summarize the members in the folder and draw the figures', false)
    .option('--prepare', 'write the plan (and download a dataset of prompts), measure nothing: run once before a job array', false)
    .option('--evict', "delete each member's weights from the Hugging Face cache once it is measured", false)
    .option('--hook <name>', `hook fitted and drawn in the summary: ${HOOK_NAMES.join(', ')}`, parseOneHook, HEADLINE_HOOK)
    .option(
      '--bootstrap <n>',
      `resamples of the prompts for each member's growth interval; 0 = off (${FLAG_RANGES.bootstrap.join('…')})`,
      rangeOf('bootstrap'),
      FIT_DEFAULTS.bootstrap,
    )
    .option('--fit-seed <n>', 'seed of the bootstrap (0…2^32-1)', rangeOf('seed'), FIT_DEFAULTS.seed)
    .option('--rescale <how>', `profiles figure: ${RESCALES.join(' or ')} (divide norms by √d_model)`, parseChoice(RESCALES), 'none')
    .option('--x <axis>', `profiles figure: ${X_AXES.join(' or ')}`, parseChoice(X_AXES), 'layer')
    .addHelpText(
      'after',
      `\nFigures (in <out>/figures/):\n${Object.entries(SWEEP_FIGURE_SUMMARIES)
        .map(([name, text]) => `  ${name.padEnd(18)} ${text}`)
        .join('\n')}\n\nExit code 7: some members failed or are missing (each named); the others are measured and summarized.`,
    );
  addPromptOptions(command);
  return command.action(async (flags: SweepFlags, self: Command) => {
    const { reporter, print, env } = commandContext(self, io);
    const exclusive = [flags.member !== undefined && '--member', flags.collect && '--collect', flags.prepare && '--prepare'].filter(Boolean);
    if (exclusive.length > 1) throw new UsageError(`${exclusive.join(' and ')} exclude each other; give one`);
    if (flags.evict && (flags.collect || flags.prepare))
      throw new UsageError('--evict applies to members being measured; it does nothing with --collect or --prepare');
    const models = [...(flags.model !== undefined ? [flags.model] : []), ...(flags.models ?? [])];
    const request: SweepRequest = {
      outDir: flags.out,
      ...(models.length > 0 ? { models } : {}),
      ...(flags.revisions !== undefined ? { revisions: flags.revisions } : {}),
      ...(flags.prompts !== undefined ? { promptsPath: flags.prompts } : {}),
      promptOptions: toPromptOptions(flags),
      measure: {
        ...(flags.hooks !== undefined ? { hooks: flags.hooks } : {}),
        batchSize: flags.batchSize,
        ...(flags.maxTokens !== undefined ? { maxTokens: flags.maxTokens } : {}),
        prependBos: flags.prependBos,
        exclusions: flags.exclusions && !flags.includeBos,
        device: flags.device,
        ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
        ...(flags.maxMemory !== undefined ? { maxMemory: flags.maxMemory } : {}),
        refresh: flags.refresh,
        ...(flags.takeOverLock ? { takeOverLock: true } : {}),
      },
      ...(flags.member !== undefined ? { member: flags.member } : {}),
      collect: flags.collect,
      prepare: flags.prepare,
      evict: flags.evict,
      hook: flags.hook,
      bootstrap: flags.bootstrap,
      seed: flags.fitSeed,
      figureOptions: { rescale: flags.rescale, x: flags.x },
    };
    const { sweep, SweepIncompleteError } = await import('../commands/sweep.js');
    const stop = stopOnSignals(reporter, MEASURE_STOP_MESSAGES);
    const outcome = await sweep({ ...request, signal: stop.signal, env }, reporter)
      .catch((error: unknown) => {
        if (error instanceof SweepIncompleteError) print(formatSweepTable(error.summary)); // what was measured, then exit 7
        throw error;
      })
      .finally(stop.dispose);
    if (outcome.summary) print(formatSweepTable(outcome.summary));
    else reportRun(outcome, reporter);
  });
}

function reportRun(outcome: SweepOutcome, reporter: Reporter): void {
  const parts = [
    `${outcome.measured.length} measured`,
    `${outcome.skipped.length} already done`,
    ...(outcome.failed.length > 0 ? [`${outcome.failed.length} failed`] : []),
  ];
  reporter.info(`sweep: ${parts.join(', ')} of ${outcome.plan.members.length} members`);
}
