/**
 * The commander program: global options and one registration call per command. Each
 * command's flags live in its own file beside this one; the work itself lives in src/commands/.
 */
import { Command } from 'commander';
import { toolVersion } from '../version.js';
import { registerFitCommand } from './fit-command.js';
import { registerMeasure } from './measure-command.js';
import { registerMechanisms } from './mechanisms-command.js';
import { registerMerge } from './merge-command.js';
import { registerModels } from './models-command.js';
import { registerPlotCommand } from './plot-command.js';
import { registerReportCommand } from './report-command.js';
import { registerSweep } from './sweep-command.js';
import { registerWeights } from './weights-command.js';

export interface GlobalOptions {
  quiet: boolean;
  debug: boolean;
}

export function buildProgram(): Command {
  const program = new Command('resid-norms')
    .description('Measure how the residual stream of a language model grows over the forward pass.')
    .version(toolVersion())
    .option('-q, --quiet', 'no progress or info messages on stderr (warnings and errors still show)', false)
    .option('--debug', 'show stack traces on errors', false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined }); // errors are printed once, by runCli

  // Subcommands inherit the error handling of their parent.
  const registrations: Array<(parent: Command) => void> = [registerMeasure, registerWeights, registerMechanisms, registerMerge, registerSweep, registerFitCommand, registerPlotCommand, registerReportCommand, registerModels];
  for (const register of registrations) register(program);
  for (const command of program.commands) command.exitOverride().configureOutput({ outputError: () => undefined });
  return program;
}

export function globalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<{ quiet?: boolean; debug?: boolean }>();
  return { quiet: options.quiet === true, debug: options.debug === true };
}
