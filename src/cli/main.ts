/**
 * The command-line entry point: builds the commander program, runs it, and is the only place
 * that turns errors into messages and exit codes.
 */
import { CommanderError } from 'commander';
import { ExitCode, ResidNormsError } from '../errors.js';
import { processIo, type CliIo } from './cli-io.js';
import { asksForNothing, buildProgram } from './program.js';

/** A reader that stops early (`resid-norms fit … | head`) closes stdout: that ends the output, it is not an error. */
function endQuietlyOnClosedStdout(): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok);
  });
}

/**
 * Runs one command line and returns its exit code. With the default io it is the installed
 * command; tests pass their own streams and environment and run it in-process.
 * @param argv as process.argv: node, script, then the arguments
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (io.stdout === process.stdout) endQuietlyOnClosedStdout();
  const debug = argv.includes('--debug');
  try {
    const args = argv.slice(2);
    const program = await buildProgram(args, io);
    await program.parseAsync(asksForNothing(args) ? [...argv, '--help'] : [...argv]);
    return ExitCode.ok;
  } catch (error) {
    return reportError(error, debug, io);
  }
}

function reportError(error: unknown, debug: boolean, io: CliIo): number {
  if (error instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0.
    if (error.exitCode === 0) return ExitCode.ok;
    io.stderr.write(`resid-norms: ${error.message.replace(/^error: /, '')} (see --help)\n`);
    return ExitCode.usage;
  }
  if (error instanceof ResidNormsError) {
    io.stderr.write(`resid-norms: ${error.message}\n`);
    if (debug && error.stack) io.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`resid-norms: unexpected error: ${message.split('\n')[0]}${debug ? '' : ' (rerun with --debug for details)'}\n`);
  if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return 70; // EX_SOFTWARE: a bug in resid-norms, not in the input
}
