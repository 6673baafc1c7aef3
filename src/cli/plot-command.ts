/** `resid-norms plot` flags → a PlotRequest for src/commands/plot.ts. */
import type { Command } from 'commander';
import { IMAGE_FORMATS, runPlot, type ImageFormat, type PlotRequest } from '../commands/plot.js';
import { ProblemList, UsageError } from '../errors.js';
import { addFigureOptions, describeFigures, parseFigureFlags, parseList, type RawFigureFlags } from './figure-flags.js';
import { globalOptions } from './program.js';
import { createConsoleReporter } from './reporter.js';

interface RawPlotFlags extends RawFigureFlags {
  format: string;
}

export function registerPlotCommand(parent: Command): void {
  const command = parent
    .command('plot')
    .description('Draw the figures of the reference analysis from results files, as SVG (and PNG).')
    .addHelpText('after', `\n${describeFigures()}`);
  addFigureOptions(command)
    .option('--format <list>', `comma-separated image formats: ${IMAGE_FORMATS.join(', ')}`, 'svg')
    .action(async (files: string[], flags: RawPlotFlags, self: Command) => {
      const reporter = createConsoleReporter({ quiet: globalOptions(self).quiet });
      await runPlot(parsePlotFlags(files, flags), reporter);
    });
}

export function parsePlotFlags(files: string[], flags: RawPlotFlags): PlotRequest {
  const problems = new ProblemList();
  const figureFlags = parseFigureFlags(flags, problems);
  const formats: ImageFormat[] = parseList('--format', flags.format, IMAGE_FORMATS, problems);
  problems.throwIfAny((message) => new UsageError(message));
  return { files, ...figureFlags, formats };
}
