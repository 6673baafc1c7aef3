/** `resid-norms measure` flags → a MeasureRequest; prints the growth table to stdout. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { MeasureRequest } from '../commands/measure.js';
import type { Measurement } from '../results/schema.js';
import { DEFAULT_SINK_TOKENS, DIAGNOSTICS } from '../results/diagnostics.js';
import { HOOK_NAMES } from '../vocabulary/hooks.js';
import { addDeviceOptions, addMemoryOption, FLAG_RANGES, parseChoiceList, parseHooks, rangeOf } from './options.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { MEASURE_STOP_MESSAGES, stopOnSignals } from './stop-on-signals.js';
import { ResidNormsError } from '../errors.js';
import { parseShard, type Shard } from '../measure/shard.js';
import { addPromptOptions, addPromptSourceOption, toPromptOptions, type PromptFlagValues } from './prompt-flags.js';

function parseShardFlag(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    if (error instanceof ResidNormsError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** --massive-dims: comma-separated residual dimensions (0-based); checked against the model's d_model later. */
function parseDimensionList(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  const bad = parts.find((part) => !/^\d{1,5}$/.test(part) || Number(part) >= 65_536);
  if (bad !== undefined) throw new InvalidArgumentError(`expected dimensions 0…65535 separated by commas, got ${JSON.stringify(bad)}`);
  return parts.map(Number);
}

/** The request under the flags' names (--prompts, --out); signal and env are not flags. */
type MeasureFlags = Omit<MeasureRequest, 'promptsPath' | 'outPath' | 'signal' | 'env'> & { prompts?: string; out?: string; includeBos: boolean };

/** "60 prompts, 8104 tokens, 40807 tokens/s": the whole run's counts, and the speed of this session (a resumed run's saved batches are counted, not timed). */
export function describeRun(measurement: Pick<Measurement, 'tables' | 'runtime'>): string {
  const { tokens, tokensPerSecond } = measurement.runtime;
  const resumedBatches = Number(measurement.runtime.resumedBatches ?? 0);
  const total = measurement.tables.tokens.rows;
  const resumed = resumedBatches > 0 ? ` (${total - tokens} of them from ${resumedBatches} batches saved before)` : '';
  return `${measurement.tables.prompts.rows} prompts, ${total} tokens${resumed}, ${tokensPerSecond.toFixed(0)} tokens/s`;
}

export const measureCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  command.option('-m, --model <name>', 'alias (gpt2-xl), Hub repo owner/name[@revision], or local folder (default: the embedded demo model)');
  addPromptSourceOption(command)
    .option('-o, --out <file>', 'results file (default: results/<model>.json)')
    .option('--hooks <list>', `comma-separated hooks: ${HOOK_NAMES.join(',')} (default: all the model has)`, parseHooks)
    .option(
      '--diagnostics <list>',
      `also compute, in the graph, per token: ${DIAGNOSTICS.join(',')} (default: none)`,
      parseChoiceList(DIAGNOSTICS, 'diagnostic'),
    )
    .option('--massive-dims <list>', 'residual dimensions to leave out of massive_norm_without, e.g. 138,378 (with --diagnostics massive)', parseDimensionList)
    .option(
      '--sink-tokens <k>',
      `with --diagnostics sinks: also the attention on the first k positions together, sink_mass_first_<k> (default ${DEFAULT_SINK_TOKENS}, as Xiao et al. keep; 1: position 0 alone)`,
      rangeOf('sinkTokens'),
    )
    .option(
      '--no-fold-value-biases',
      "with --diagnostics heads: keep the value biases in the heads' writes (TransformerLens's fold_value_biases=False) instead of folding them into b_O as from_pretrained does",
    )
    .option('-b, --batch-size <n>', `prompts per batch (${FLAG_RANGES.batchSize.join('…')})`, rangeOf('batchSize'), 8)
    .option('--max-tokens <n>', "truncate prompts to n tokens, BOS included (default and maximum: the model's context length)", rangeOf('maxTokens'))
    .option('--no-prepend-bos', 'do not prepend the BOS token to text prompts')
    .option('--no-exclusions', 'keep position 0 and the special tokens (BOS, EOS, padding) in summaries and fits')
    .addOption(new Option('--include-bos', 'the old name of --no-exclusions').default(false).hideHelp())
    .option(
      '--append-eos <n>',
      'append n EOS tokens to every prompt, as padding: measured and drawn apart, never summarized (default 0)',
      rangeOf('appendEos'),
    );
  addMemoryOption(addDeviceOptions(command, io.env), io.env)
    .option('--refresh', 'ask the Hub for the newest commit of the revision even if it is cached', false)
    .option('--restart', 'discard the checkpoint of an interrupted run instead of resuming it', false)
    .option('--take-over-lock', 'take over <out>.lock from a process on another host, which cannot be checked from here (once you know it has ended)', false)
    .option('--shard <i/n>', 'run only shard i of n (a deterministic slice of the batches); combine the files with `resid-norms merge`', parseShardFlag);
  return addPromptOptions(command).action(async (flags: MeasureFlags & PromptFlagValues, command: Command) => {
    const { reporter, print, env } = commandContext(command, io);
    const { prompts, out, includeBos, textColumn, limit, sample, seed, ...request } = flags;
    const promptOptions = toPromptOptions({ textColumn, limit, sample, seed });
    const { measure } = await import('../commands/measure.js');
    const stop = stopOnSignals(reporter, MEASURE_STOP_MESSAGES);
    const { outPath, measurement } = await measure(
      {
        ...request,
        exclusions: request.exclusions && !includeBos,
        ...(prompts !== undefined ? { promptsPath: prompts } : {}),
        ...(out !== undefined ? { outPath: out } : {}),
        promptOptions,
        signal: stop.signal,
        env,
      },
      reporter,
    ).finally(stop.dispose);
    // Loaded once there is something to print (the fit reads the tables through DuckDB), not before a refusal.
    const { formatFittedRate, formatGrowthTable } = await import('../text-tables/growth-table.js');
    const { measurementFile } = await import('../store/open-results.js');
    print(formatGrowthTable(measurement));
    const rate = await formatFittedRate(measurementFile(measurement, outPath)); // the tables just written, without reading the JSON back
    if (rate) print(rate);
    reporter.info(`wrote ${outPath} and its tables (${describeRun(measurement)})`);
  });
}
