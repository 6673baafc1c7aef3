/** `resid-norms mechanisms` flags → a MechanismsRequest; prints the per-layer table to stdout. */
import type { Command } from 'commander';
import type { MechanismsRequest } from '../commands/mechanisms.js';
import { DEFAULT_SAMPLES } from '../analysis/mechanism-sampling.js';
import { addDeviceOptions, addMemoryOption, FLAG_RANGES, parseIntInRange, rangeOf } from './options.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { stopOnSignals, type StopMessages } from './stop-on-signals.js';
import { addPromptOptions, addPromptSourceOption, toPromptOptions, type PromptFlagValues } from './prompt-flags.js';

/** Random inputs per layer and resampled tokens: [samples, dModel] per layer are kept (300 MB at GPT2-XL for 1000). */
export const SAMPLES_RANGE = [1, 10_000] as const;

/** The first SIGINT/SIGTERM stops after the batch or probe in flight (nothing is written); a second one at once. */
const STOP_MESSAGES: StopMessages = {
  first: (name) => `${name}: stopping after the current step; no file is written (send it again to stop at once)`,
};

/** The request under the flags' names (--prompts, --out); signal and env are not flags. */
type MechanismsFlags = Omit<MechanismsRequest, 'promptsPath' | 'promptOptions' | 'outPath' | 'signal' | 'env'> &
  Omit<PromptFlagValues, 'seed'> & { prompts?: string; out?: string };

export const mechanismsCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  command.option('-m, --model <name>', 'alias (gpt2-xl), Hub repo owner/name[@revision], or local folder (default: the embedded demo model)');
  addPromptSourceOption(command)
    .option('-o, --out <file>', 'mechanisms file (default: results/<model>.mechanisms.json)')
    .option(
      '-n, --samples <n>',
      `random inputs per layer, and the most prompt tokens resampled (${SAMPLES_RANGE.join('…')})`,
      parseIntInRange(...SAMPLES_RANGE),
      DEFAULT_SAMPLES,
    )
    .option(
      '--seed <n>',
      `seed of the random inputs, the resampled tokens, the random layers and --sample's prompts (${FLAG_RANGES.seed.join('…')})`,
      rangeOf('seed'),
      0,
    )
    .option('-b, --batch-size <n>', `prompts per batch (${FLAG_RANGES.batchSize.join('…')})`, rangeOf('batchSize'), 8)
    .option('--max-tokens <n>', "truncate prompts to n tokens, BOS included (default and maximum: the model's context length)", rangeOf('maxTokens'))
    .option('--no-prepend-bos', 'do not prepend the BOS token to text prompts');
  addMemoryOption(addDeviceOptions(command, io.env), io.env).option(
    '--refresh',
    'ask the Hub for the newest commit of the revision even if it is cached',
    false,
  );
  return addPromptOptions(command, { ownSeed: true }).action(async (flags: MechanismsFlags, command: Command) => {
    const { reporter, print, env } = commandContext(command, io);
    const { analyzeMechanisms } = await import('../commands/mechanisms.js');
    const { formatMechanismsTable } = await import('../text-tables/mechanisms-table.js');
    const stop = stopOnSignals(reporter, STOP_MESSAGES);
    const { prompts, out, textColumn, limit, sample, ...request } = flags;
    const promptOptions = toPromptOptions({ textColumn, limit, sample, seed: request.seed }, { ownSeed: true });
    const { outPath, mechanisms } = await analyzeMechanisms(
      {
        ...request,
        env,
        promptOptions,
        ...(prompts !== undefined ? { promptsPath: prompts } : {}),
        ...(out !== undefined ? { outPath: out } : {}),
        signal: stop.signal,
      },
      reporter,
    ).finally(stop.dispose);
    print(formatMechanismsTable(mechanisms));
    reporter.info(`wrote ${outPath} (${mechanisms.layers.length} layers, ${mechanisms.runtime.seconds.toFixed(1)} s)`);
  });
}
