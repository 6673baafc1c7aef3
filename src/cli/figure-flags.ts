/**
 * Flags shared by `plot` and `report`: which figures, and the choices figures take. Checked
 * here, all problems at once, before any file is read.
 */
import type { Command } from 'commander';
import { ProblemList, quote } from '../errors.js';
import { FIGURES, FIGURE_NAMES, type FigureName } from '../plots/figure-registry.js';
import { RESCALES, X_AXES, type FigureOptions } from '../plots/figure-types.js';
import { HOOK_NAMES, type HookName } from '../results/schema.js';

export interface RawFigureFlags {
  out: string;
  figures?: string;
  prompt: string;
  hook?: string;
  rescale: string;
  x: string;
  fit?: string;
}

export interface FigureFlags {
  outDir: string;
  figures: FigureName[];
  figureOptions: FigureOptions;
  fitFile?: string;
}

export function addFigureOptions(command: Command): Command {
  return command
    .argument('[results...]', 'results files written by `resid-norms measure`')
    .requiredOption('-o, --out <folder>', 'output folder (created if missing)')
    .option('--figures <list>', `comma-separated figures (default: all): ${FIGURE_NAMES.join(', ')}`)
    .option('--prompt <n>', 'prompt (0-based index into the results file) drawn by the tokens figure', '0')
    .option('--hook <name>', `hook of the single-hook figures: ${HOOK_NAMES.join(', ')} (default: resid_pre; compare: resid_post)`)
    .option('--rescale <how>', `compare: ${RESCALES.join(' or ')} (divide norms by √d_model)`, 'none')
    .option('--x <axis>', `compare: ${X_AXES.join(' or ')} (layer / nLayers)`, 'layer')
    .option('--fit <file>', 'draw fits from this fit file (written by `resid-norms fit --out`) instead of fitting');
}

/** The figure list for --help, one line each. */
export function describeFigures(): string {
  const width = Math.max(...FIGURE_NAMES.map((name) => name.length));
  return ['Figures:', ...FIGURE_NAMES.map((name) => `  ${name.padEnd(width)}  ${FIGURES[name].summary}`)].join('\n');
}

export function parseFigureFlags(flags: RawFigureFlags, problems: ProblemList): FigureFlags {
  return {
    outDir: flags.out,
    figures: flags.figures === undefined ? [...FIGURE_NAMES] : parseList('--figures', flags.figures, FIGURE_NAMES, problems),
    figureOptions: {
      hook: flags.hook === undefined ? undefined : parseHook(flags.hook, problems),
      prompt: parseIndex('--prompt', flags.prompt, problems),
      rescale: parseOne('--rescale', flags.rescale, RESCALES, problems) ?? 'none',
      x: parseOne('--x', flags.x, X_AXES, problems) ?? 'layer',
    },
    ...(flags.fit === undefined ? {} : { fitFile: flags.fit }),
  };
}

/** "a,b" → the valid names, in the order of `valid`; unknown names are problems. */
export function parseList<T extends string>(flag: string, text: string, valid: readonly T[], problems: ProblemList): T[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(valid as readonly string[]).includes(name));
  if (unknown.length > 0) problems.add(`${flag}: unknown ${unknown.map((name) => quote(name)).join(', ')}; valid: ${valid.join(', ')}`);
  else if (names.length === 0) problems.add(`${flag} is empty; give one or more of: ${valid.join(', ')}`);
  return valid.filter((name) => names.includes(name));
}

function parseOne<T extends string>(flag: string, text: string, valid: readonly T[], problems: ProblemList): T | undefined {
  if ((valid as readonly string[]).includes(text)) return text as T;
  problems.add(`${flag} ${quote(text)} is not valid; give ${valid.join(' or ')}`);
  return undefined;
}

function parseHook(text: string, problems: ProblemList): HookName | undefined {
  const short = text.trim().replace(/^(blocks\.\d+\.)?hook_/, '');
  if ((HOOK_NAMES as readonly string[]).includes(short)) return short as HookName;
  problems.add(`--hook ${quote(text)} is not a hook; valid: ${HOOK_NAMES.join(', ')}`);
  return undefined;
}

function parseIndex(flag: string, text: string, problems: ProblemList): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    problems.add(`${flag} ${quote(text)} is not a prompt index; give a whole number ≥ 0`);
    return 0;
  }
  return value;
}

