/** Parsers for command-line values: each rejects a bad value with what would be valid. */
import { InvalidArgumentError } from 'commander';
import { HOOK_NAMES, type HookName } from '../results/schema.js';

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

/** Hook names: short (resid_pre) or TransformerLens style (hook_resid_pre), comma-separated. */
export function parseHooks(value: string): HookName[] {
  const names = value.split(',').map((name) => name.trim().replace(/^hook_/, '')).filter((name) => name !== '');
  const unknown = names.filter((name) => !(HOOK_NAMES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`unknown hook ${JSON.stringify(unknown[0] ?? value)}; valid: ${HOOK_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as HookName[];
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
    const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
    const unknown = names.filter((name) => !(choices as readonly string[]).includes(name));
    if (names.length === 0 || unknown.length > 0) {
      throw new InvalidArgumentError(`unknown ${what} ${JSON.stringify(unknown[0] ?? value)}; valid: ${choices.join(', ')}`);
    }
    return choices.filter((choice) => names.includes(choice));
  };
}
