/** `resid-norms report` flags → a ReportRequest for src/commands/report.ts. */
import type { Command } from 'commander';
import { runReport, type ReportRequest } from '../commands/report.js';
import { ProblemList, UsageError } from '../errors.js';
import { addFigureOptions, describeFigures, parseFigureFlags, type RawFigureFlags } from './figure-flags.js';
import { globalOptions } from './program.js';
import { createConsoleReporter } from './reporter.js';

export function registerReportCommand(parent: Command): void {
  const command = parent
    .command('report')
    .description('Write a self-contained HTML report (every figure, fits, metadata) and a Markdown summary for CI.')
    .addHelpText('after', `\n${describeFigures()}`);
  addFigureOptions(command).action(async (files: string[], flags: RawFigureFlags, self: Command) => {
    const reporter = createConsoleReporter({ quiet: globalOptions(self).quiet });
    await runReport(parseReportFlags(files, flags), reporter);
  });
}

export function parseReportFlags(files: string[], flags: RawFigureFlags): ReportRequest {
  const problems = new ProblemList();
  const figureFlags = parseFigureFlags(flags, problems);
  problems.throwIfAny((message) => new UsageError(message));
  return { files, ...figureFlags };
}
