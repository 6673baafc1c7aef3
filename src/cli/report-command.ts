/** `resid-norms report` flags → a ReportRequest for src/commands/report.ts. */
import type { Command } from 'commander';
import { runReport } from '../commands/report.js';
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
    await guardFigureFiles(files, flags, (name) => name === 'index.html' || name === 'summary.md');
    await runReport({ files, ...toFigureFlags(flags) }, reporter);
  });
}
