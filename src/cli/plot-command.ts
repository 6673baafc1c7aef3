/** `resid-norms plot` flags → a PlotRequest for src/commands/plot.ts. */
import type { Command } from 'commander';
import { FORMAT_SUFFIXES, IMAGE_FORMATS, type ImageFormat } from '../rendering/image-formats.js';
import { addFigureOptions, describeFigures, guardFigureFiles, toFigureFlags, type FigureFlagValues } from './figure-flags.js';
import { parseChoiceList } from './options.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { sortInputs } from './input-sorting.js';

interface PlotFlagValues extends FigureFlagValues {
  format: ImageFormat[];
}

export const plotCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  command.addHelpText('after', `\n${describeFigures()}`);
  return addFigureOptions(command)
    .option('--format <list>', `comma-separated image formats: ${IMAGE_FORMATS.join(', ')}`, parseChoiceList(IMAGE_FORMATS, 'format'), ['svg'])
    .action(async (paths: string[], given: PlotFlagValues, self: Command) => {
      const { reporter } = commandContext(self, io);
      const { files, fitFile } = await sortInputs(
        paths,
        { command: 'plot', takes: ['measurement', 'weights', 'mechanisms'], fits: { given: given.fit } },
        reporter,
      );
      const flags = { ...given, ...(fitFile !== undefined ? { fit: fitFile } : {}) };
      const suffixes = flags.format.map((format) => FORMAT_SUFFIXES[format]);
      await guardFigureFiles(files, flags, (name) => suffixes.some((suffix) => name.endsWith(suffix)));
      const { runPlot } = await import('../commands/plot.js');
      await runPlot({ files, ...toFigureFlags(flags), formats: flags.format }, reporter);
    });
}
