/**
 * The commander program: global options, and the commands. Only the flags file of the command
 * a run names is loaded, and its action loads the command's work (src/commands/) when it runs;
 * the others are listed by name and summary. So `--version` and `--help` load commander alone,
 * and vega, ONNX Runtime and DuckDB are loaded only by the commands that use them.
 */
import { Command, Help } from 'commander';
import { toolVersion } from '../version.js';
import type { CliIo } from './cli-io.js';
import { COMMANDS, findCommand, FIRST_EXAMPLES } from './command-catalog.js';
import { formatExamples, HELP_CONFIGURATION } from './help-format.js';

/** Global flags; none takes a value, so the first other word of argv names the command. */
const GLOBAL_FLAGS = new Set(['-q', '--quiet', '--debug']);

/** The command that argv runs or asks help for (`help fit`, `fit --help`), if any. */
export function namedCommand(args: readonly string[]): string | undefined {
  const words = args.filter((arg) => !GLOBAL_FLAGS.has(arg));
  const first = words[0];
  if (first === undefined || first.startsWith('-')) return undefined;
  return first === 'help' ? words[1] : first;
}

/** No command and no flag but the global ones: the help, as a person who types the tool's name expects. */
export function asksForNothing(args: readonly string[]): boolean {
  return args.every((arg) => GLOBAL_FLAGS.has(arg));
}

/** @param args the command line after `node resid-norms` */
export async function buildProgram(args: readonly string[], io: CliIo): Promise<Command> {
  const output = {
    writeOut: (text: string) => void io.stdout.write(text),
    writeErr: (text: string) => void io.stderr.write(text),
    outputError: () => undefined, // errors are printed once, by runCli
  };
  const program = new Command('resid-norms')
    .description('Measure how the residual stream of a language model grows over the forward pass.')
    .version(toolVersion())
    .option('-q, --quiet', 'no progress or info messages on stderr (warnings and errors still show)', false)
    .option('--debug', 'show stack traces on errors', false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput(output)
    .configureHelp({ ...HELP_CONFIGURATION, subcommandTerm: (command) => findCommand(command.name())?.term ?? new Help().subcommandTerm(command) });

  program.addHelpText('after', formatExamples(FIRST_EXAMPLES));
  const named = findCommand(namedCommand(args) ?? '');
  for (const entry of COMMANDS) {
    const command = program.command(entry.name).description(entry.summary);
    // The others are listed in --help and for suggestions, and never run.
    if (entry === named) (await entry.load()).define(command, io).addHelpText('after', formatExamples(entry.examples));
  }
  // Subcommands inherit the error handling of their parent.
  for (const command of program.commands) command.exitOverride().configureOutput(output);
  return program;
}
