/**
 * How `--help` reads: defaults as a person writes them on the command line (`svg`, not
 * `["svg"]`; nothing for an off switch), choices as a plain list, required options marked,
 * and each command's examples at the end.
 */
import type { Help, Option } from 'commander';

/** A default value as it would be typed: lists comma-separated, strings bare. */
export function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return value.map(formatDefault).join(',');
  if (typeof value === 'string') return value;
  return String(value);
}

/** commander's Help.optionDescription, with the project's wording (see the module comment). */
export function describeOption(option: Option): string {
  const extra: string[] = [];
  if (option.mandatory) extra.push('required');
  if (option.argChoices) extra.push(`one of: ${option.argChoices.join(', ')}`);
  const description = option.description ?? '';
  // An off switch's `false` says nothing; a description that already states its default keeps its own words.
  const saysDefault = /\bdefault\b/.test(description);
  const switchOff = typeof option.defaultValue === 'boolean';
  if (option.defaultValue !== undefined && !switchOff && !saysDefault) {
    extra.push(`default: ${option.defaultValueDescription ?? formatDefault(option.defaultValue)}`);
  }
  return extra.length === 0 ? description : `${description} (${extra.join('; ')})`;
}

/** The help configuration every command shares. */
export const HELP_CONFIGURATION: Partial<Help> = {
  optionDescription: describeOption,
};

/** The text `--help` ends with: a command's examples, one per line. */
export function formatExamples(examples: readonly string[]): string {
  return examples.length === 0 ? '' : `\nExamples:\n${examples.map((example) => `  ${example}`).join('\n')}\n`;
}
