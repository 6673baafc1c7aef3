/**
 * Flags of the prompt source, one set for every command that runs prompts (measure, sweep,
 * mechanisms): --prompts (a text/JSONL file, a .parquet or .csv table, hf://datasets/…),
 * --text-column for tables and Hub datasets, --limit / --sample / --seed for any source. Values
 * are parsed as they are read; whether they fit the source is checked in src/prompts-sources/
 * (readRequestedPrompts, the one reader) before any download.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_SAMPLE_SEED, MAX_UNSELECTED_ROWS } from '../prompts-sources/prompt-selection.js';
import type { PromptReadOptions } from '../prompts-sources/prompt-source.js';
import { parseIntInRange } from './options.js';

export const PROMPT_FLAG_RANGES = {
  limit: [1, 100_000_000],
  sample: [1, MAX_UNSELECTED_ROWS],
  seed: [0, 2 ** 32 - 1],
} as const;

export interface PromptFlagValues {
  textColumn?: string;
  limit?: number;
  sample?: number;
  seed?: number;
}

function parseColumn(value: string): string {
  if (value.trim() === '' || value.length > 256 || /[\u0000-\u001f]/.test(value))
    throw new InvalidArgumentError(`expected a column name (1–256 printable characters), got ${JSON.stringify(value)}`);
  return value;
}

const range = (flag: keyof typeof PROMPT_FLAG_RANGES) => parseIntInRange(PROMPT_FLAG_RANGES[flag][0], PROMPT_FLAG_RANGES[flag][1]);

/** -p, --prompts, worded the same for every command; `what` says whose prompts they are. */
export function addPromptSourceOption(command: Command, what = 'prompt'): Command {
  return command.option(
    '-p, --prompts <source>',
    `${what} file: one prompt per line, JSONL with {"text"} or {"ids"}, a .parquet or .csv table, or a Hub dataset hf://datasets/<owner>/<name>[@revision][/path] (default: built-in prompts)`,
  );
}

/**
 * --text-column, --limit, --sample and --seed. A command with a --seed of its own (mechanisms:
 * its random inputs) passes `ownSeed`: its --seed then seeds --sample too, instead of a second flag.
 */
export function addPromptOptions(command: Command, options: { ownSeed?: boolean } = {}): Command {
  command
    .option('--text-column <name>', '.parquet, .csv and hf://datasets/ prompts: the column holding the text (default: text)', parseColumn)
    .option('--limit <n>', `use only the first n prompts (rows) of the source (${PROMPT_FLAG_RANGES.limit.join('…')})`, range('limit'))
    .option('--sample <n>', `use n prompts drawn at random (after --limit), kept in source order (${PROMPT_FLAG_RANGES.sample.join('…')})`, range('sample'));
  return options.ownSeed ? command : command.option('--seed <n>', `seed of --sample (0…2^32-1, default ${DEFAULT_SAMPLE_SEED})`, range('seed'));
}

/** The flags as read options; `ownSeed`: the command's own --seed, which applies to --sample without asking for it. */
export function toPromptOptions(values: PromptFlagValues, options: { ownSeed?: boolean } = {}): PromptReadOptions {
  if (!options.ownSeed && values.seed !== undefined && values.sample === undefined)
    throw new UsageError(`--seed ${values.seed} applies to --sample; give --sample N as well, or drop --seed`);
  const selecting = values.limit !== undefined || values.sample !== undefined;
  return {
    ...(values.textColumn !== undefined ? { textColumn: values.textColumn } : {}),
    ...(selecting
      ? {
          selection: {
            ...(values.limit !== undefined ? { limit: values.limit } : {}),
            ...(values.sample !== undefined ? { sample: values.sample } : {}),
            seed: values.seed ?? DEFAULT_SAMPLE_SEED,
          },
        }
      : {}),
  };
}
