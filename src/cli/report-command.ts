/** `resid-norms report` flags → a ReportRequest for src/commands/report.ts. */
import type { Command } from 'commander';
import { runReport } from '../commands/report.js';
import { expandSweepFolders, sweepFigures } from '../sweep/sweep-folder.js';
import { addFigureOptions, describeFigures, guardFigureFiles, toFigureFlags, type FigureFlagValues } from './figure-flags.js';
import { globalOptions } from './program.js';
import { createConsoleReporter } from './reporter.js';

export function registerReportCommand(parent: Command): void {
  const command = parent
    .command('report')
    .description('write a self-contained HTML report (every figure, fits, metadata) and a Markdown summary for CI')
    .addHelpText('after', `\n${describeFigures()}`);
  addFigureOptions(command).action(async (files: string[], flags: FigureFlagValues, self: Command) => {
    const reporter = createConsoleReporter({ quiet: globalOptions(self).quiet });
    // A sweep folder stands for its measured members, plus its sweep figures; without --figures only the comparison is drawn of them.
    const { files: inputs, sweeps } = await expandSweepFolders(files);
    await guardFigureFiles(inputs, flags, (name) => name === 'index.html' || name === 'summary.md');
    const figureFlags = toFigureFlags(flags);
    const extraFigures = await sweepFigures(sweeps, figureFlags.figureOptions);
    await runReport({ files: inputs, ...figureFlags, ...(sweeps.length > 0 && figureFlags.figures === undefined ? { figures: ['compare' as const] } : {}), extraFigures }, reporter);
  });
}
