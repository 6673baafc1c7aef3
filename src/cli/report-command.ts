/** `resid-norms report` flags → a ReportRequest for src/commands/report.ts. */
import type { Command } from 'commander';
import { addFigureOptions, describeFigures, guardFigureFiles, toFigureFlags, type FigureFlagValues } from './figure-flags.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { sortInputs } from './input-sorting.js';

export const reportCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  command.addHelpText('after', `\n${describeFigures()}`);
  return addFigureOptions(command).action(async (paths: string[], given: FigureFlagValues, self: Command) => {
    const { reporter } = commandContext(self, io);
    const { expandSweepFolders, sweepFigures } = await import('../sweep/sweep-folder.js');
    const { runReport } = await import('../commands/report.js');
    // A sweep folder stands for its measured members, plus its sweep figures; without --figures only the comparison is drawn of them.
    const { files: expanded, sweeps } = await expandSweepFolders(paths);
    const { files: inputs, fitFile } = await sortInputs(
      expanded,
      { command: 'report', takes: ['measurement', 'weights', 'mechanisms'], fits: { given: given.fit } },
      reporter,
    );
    const flags = { ...given, ...(fitFile !== undefined ? { fit: fitFile } : {}) };
    await guardFigureFiles(inputs, flags, (name) => name === 'index.html' || name === 'summary.md');
    const figureFlags = toFigureFlags(flags);
    const extraFigures = await sweepFigures(sweeps, figureFlags.figureOptions);
    await runReport(
      { files: inputs, ...figureFlags, ...(sweeps.length > 0 && figureFlags.figures === undefined ? { figures: ['compare' as const] } : {}), extraFigures },
      reporter,
    );
  });
}
