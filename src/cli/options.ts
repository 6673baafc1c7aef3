/** Parsers for command-line values: each rejects a bad value with what would be valid. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEVICES } from '../runtime/devices.js';
import { availableParallelism } from 'node:os';
import { allocatedCpus } from '../runtime/cpu-allocation.js';
import { allocatedMemory, formatMemorySize, parseMemorySize, type MemoryAllocation } from '../runtime/memory-allocation.js';
import { HOOK_NAMES, type HookName } from '../vocabulary/hooks.js';

export function parsePositiveInt(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number <= 0) {
    throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

export function parseNonNegativeInt(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError(`expected a whole number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return number;
}

/**
 * An integer flag within [min, max]; every numeric flag has one (documented in the README), so
 * no flag can ask for unbounded time or memory.
 */
export function parseIntInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return number;
  };
}

/** Ranges of the numeric flags (the README's table under "Every numeric flag has a range"). */
export const FLAG_RANGES = {
  batchSize: [1, 4096],
  maxTokens: [1, 1 << 24],
  appendEos: [0, 1 << 24],
  sinkTokens: [1, 1 << 24],
  /** Intra-op threads: up to 4 per core of this machine. */
  threads: [1, Math.max(1, availableParallelism()) * 4],
  bootstrap: [0, 100_000],
  seed: [0, 2 ** 32 - 1],
  segments: [1, 64],
  minSegment: [3, 1024],
} as const satisfies Record<string, readonly [number, number]>;

/** The parser of a flag in FLAG_RANGES. */
/** The environment variable that sets the default of --threads (a shared node, the test suite). */
export const THREADS_VARIABLE = 'RESID_NORMS_THREADS';

/**
 * --device, then --threads with its default: RESID_NORMS_THREADS when set (checked like the
 * flag), else the CPUs this process may use (a Slurm allocation, the CPU affinity, a cgroup's
 * quota: src/runtime/cpu-allocation.ts). For every command that runs a model.
 */
export function addDeviceOptions(command: Command, env: NodeJS.ProcessEnv): Command {
  const [low, high] = FLAG_RANGES.threads;
  const fromEnv = env[THREADS_VARIABLE];
  let threads: number;
  let source: string;
  if (fromEnv !== undefined && fromEnv !== '') {
    threads = Number(fromEnv);
    if (!/^\d+$/.test(fromEnv) || threads < low || threads > high)
      throw new UsageError(`${THREADS_VARIABLE} ${JSON.stringify(fromEnv)} is not a number of threads; valid: ${low}…${high}`);
    source = THREADS_VARIABLE;
  } else {
    ({ count: threads, source } = allocatedCpus(env));
  }
  command.option('--device <device>', `execution device: ${DEVICES.join(', ')}`, parseChoice(DEVICES), 'cpu');
  const help = `intra-op threads, ${low}…${high} here (4 per core at most; default: ${THREADS_VARIABLE}, else the CPUs this process may use: ${threads} here, from ${source})`;
  return command.option('--threads <n>', help, rangeOf('threads'), threads);
}

/** The environment variable that sets the default of --max-memory (a job array's tasks, a shared node). */
export const MAX_MEMORY_VARIABLE = 'RESID_NORMS_MAX_MEMORY';

const SIZE_EXAMPLES = 'e.g. 4GB, 1.5GiB, 800MB, 512M';

function parseMemoryFlag(value: string): MemoryAllocation {
  const bytes = parseMemorySize(value);
  if (bytes === undefined)
    throw new InvalidArgumentError(
      `expected a size with its unit (${SIZE_EXAMPLES}; kB, MB, GB, TB are powers of 1000, K, M, G, T and KiB, MiB, GiB, TiB of 1024), got ${JSON.stringify(value)}`,
    );
  return { bytes, source: '--max-memory' };
}

/**
 * --max-memory with its default: RESID_NORMS_MAX_MEMORY when set (checked like the flag), else a
 * safe share of the memory this process may use (src/runtime/memory-allocation.ts). For every
 * command that runs a model or reads its weights.
 */
export function addMemoryOption(command: Command, env: NodeJS.ProcessEnv): Command {
  const fromEnv = env[MAX_MEMORY_VARIABLE];
  let budget: MemoryAllocation;
  if (fromEnv !== undefined && fromEnv !== '') {
    const bytes = parseMemorySize(fromEnv);
    if (bytes === undefined)
      throw new UsageError(`${MAX_MEMORY_VARIABLE} ${JSON.stringify(fromEnv)} is not a size; valid: a number and a unit, ${SIZE_EXAMPLES}`);
    budget = { bytes, source: MAX_MEMORY_VARIABLE };
  } else {
    const allocation = allocatedMemory(env);
    budget = { bytes: allocation.bytes, source: `the default --max-memory (${allocation.source})` };
  }
  const help =
    `most anonymous memory to use, ${SIZE_EXAMPLES}; a model whose float32 weights do not fit runs block by block ` +
    `(default: ${MAX_MEMORY_VARIABLE}, else a safe share of free memory: ${formatMemorySize(budget.bytes)} here, from ${budget.source.replace(/^the default --max-memory \((.*)\)$/, '$1')})`;
  return command.addOption(new Option('--max-memory <size>', help).argParser(parseMemoryFlag).default(budget, formatMemorySize(budget.bytes)));
}

export function rangeOf(flag: keyof typeof FLAG_RANGES): (value: string) => number {
  const [min, max] = FLAG_RANGES[flag];
  return parseIntInRange(min, max);
}

/** Hook names: short (resid_pre) or TransformerLens style (hook_resid_pre), comma-separated. */
export function parseHooks(value: string): HookName[] {
  const names = value
    .split(',')
    .map((name) => name.trim().replace(/^hook_/, ''))
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !(HOOK_NAMES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`unknown hook ${JSON.stringify(unknown[0] ?? value)}; valid: ${HOOK_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as HookName[];
}

/** One hook (`--hook` of plot, report and sweep). */
export function parseOneHook(value: string): HookName {
  const hooks = parseHooks(value);
  if (hooks.length !== 1) throw new InvalidArgumentError(`give one hook, got ${JSON.stringify(value)}; valid: ${HOOK_NAMES.join(', ')}`);
  return hooks[0]!;
}

export function parseChoice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  };
}

/** A comma-separated list of choices, e.g. --figures growth,compare; kept in the order of `choices`. */
export function parseChoiceList<T extends string>(choices: readonly T[], what: string): (value: string) => T[] {
  return (value) => {
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const unknown = names.filter((name) => !(choices as readonly string[]).includes(name));
    if (names.length === 0 || unknown.length > 0) {
      throw new InvalidArgumentError(`unknown ${what} ${JSON.stringify(unknown[0] ?? value)}; valid: ${choices.join(', ')}`);
    }
    return choices.filter((choice) => names.includes(choice));
  };
}
