/**
 * Flags shared by `plot` and `report`: which figures, and the choices figures take. Each value
 * is parsed by commander as it is read, with the shared parsers of ./options.ts.
 */
import type { Command } from 'commander';
import { FIGURES, FIGURE_NAMES, type FigureName } from '../figures/figure-registry.js';
import { RESCALES, X_AXES, type FigureOptions, type Rescale, type XAxis } from '../figures/figure-types.js';
import { HOOK_NAMES, type HookName } from '../vocabulary/hooks.js';
import { WEIGHT_VARIANTS, type WeightVariant } from '../results/weights-schema.js';
import { guardFileCommand, inputFiles } from '../io/output-guard.js';
import { parseChoice, parseChoiceList, parseNonNegativeInt, parseOneHook } from './options.js';

export interface FigureFlagValues {
  out: string;
  figures?: FigureName[];
  prompt: number;
  hook?: HookName;
  rescale: Rescale;
  x: XAxis;
  variant?: WeightVariant;
  fit?: string;
}

export interface FigureFlags {
  outDir: string;
  /** Every figure the inputs allow when absent. */
  figures?: FigureName[];
  figureOptions: FigureOptions;
  fitFile?: string;
}

export function addFigureOptions(command: Command): Command {
  return command
    .argument('[results...]', 'results files written by `resid-norms measure`, and weights files written by `resid-norms weights` (figure weights)')
    .requiredOption('-o, --out <folder>', 'output folder (created if missing)')
    .option('--figures <list>', `comma-separated figures (default: all): ${FIGURE_NAMES.join(', ')}`, parseChoiceList(FIGURE_NAMES, 'figure'))
    .option('--prompt <n>', 'prompt (0-based index into the results file) drawn by the tokens figure; checked against each file', parseNonNegativeInt, 0)
    .option('--hook <name>', `hook of the single-hook figures: ${HOOK_NAMES.join(', ')} (default: resid_pre; compare: resid_post)`, parseOneHook)
    .option('--rescale <how>', `compare: ${RESCALES.join(' or ')} (divide norms by √d_model)`, parseChoice(RESCALES), 'none')
    .option('--x <axis>', `compare: ${X_AXES.join(' or ')} (layer / nLayers)`, parseChoice(X_AXES), 'layer')
    .option(
      '--variant <variant>',
      `weights: ${WEIGHT_VARIANTS.join(' or ')} weights (default: the file's primary variant, processed)`,
      parseChoice(WEIGHT_VARIANTS),
    )
    .option('--fit <file>', 'draw fits from this fit file (written by `resid-norms fit --out`) instead of fitting');
}

/** The figure list for --help, one line each. */
export function describeFigures(): string {
  const width = FIGURE_NAMES.reduce((most, name) => Math.max(most, name.length), 0);
  return ['Figures:', ...FIGURE_NAMES.map((name) => `  ${name.padEnd(width)}  ${FIGURES[name].summary}`)].join('\n');
}

/**
 * Before reading anything: inputs that are FIFOs refused, an --out folder that cannot be made
 * refused, and none of the names the command writes there may be one of its inputs.
 */
export function guardFigureFiles(files: readonly string[], values: FigureFlagValues, writes: (name: string) => boolean): Promise<void> {
  const inputs = [...inputFiles(files), ...(values.fit === undefined ? [] : inputFiles([values.fit], 'the fit file'))];
  return guardFileCommand(inputs, [{ flag: '--out', folder: values.out, writes }]);
}

export function toFigureFlags(values: FigureFlagValues): FigureFlags {
  return {
    outDir: values.out,
    ...(values.figures === undefined ? {} : { figures: values.figures }),
    figureOptions: { hook: values.hook, prompt: values.prompt, rescale: values.rescale, x: values.x, variant: values.variant },
    ...(values.fit === undefined ? {} : { fitFile: values.fit }),
  };
}
