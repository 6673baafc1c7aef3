/** `resid-norms plot` flags → a PlotRequest for src/commands/plot.ts. */
import type { Command } from 'commander';
import { IMAGE_FORMATS, runPlot, type ImageFormat } from '../commands/plot.js';
import { addFigureOptions, describeFigures, guardFigureFiles, toFigureFlags, type FigureFlagValues } from './figure-flags.js';
import { parseChoiceList } from './options.js';
import { globalOptions } from './program.js';
import { createConsoleReporter } from './reporter.js';

interface PlotFlagValues extends FigureFlagValues {
  format: ImageFormat[];
}

export function registerPlotCommand(parent: Command): void {
  const command = parent
    .command('plot')
    .description('draw the figures of the reference analysis from results and weights files, as SVG (and PNG)')
    .addHelpText('after', `\n${describeFigures()}`);
  addFigureOptions(command)
    .option('--format <list>', `comma-separated image formats: ${IMAGE_FORMATS.join(', ')}`, parseChoiceList(IMAGE_FORMATS, 'format'), ['svg'])
    .action(async (files: string[], flags: PlotFlagValues, self: Command) => {
      const reporter = createConsoleReporter({ quiet: globalOptions(self).quiet });
      await guardFigureFiles(files, flags, (name) => /\.(svg|png)$/.test(name));
      await runPlot({ files, ...toFigureFlags(flags), formats: flags.format }, reporter);
    });
}
