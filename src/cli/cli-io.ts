/**
 * What a command reads and writes besides files: stdout for results, stderr for messages, and
 * the environment (Hugging Face cache and endpoint). The installed command uses the process's
 * own; tests run the same program in-process with captured streams and an environment of their own.
 */
import type { Command } from 'commander';
import { createConsoleReporter, type MessageStream, type Reporter } from '../messages/reporter.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: MessageStream;
  env: NodeJS.ProcessEnv;
}

/** How a command adds its arguments, flags and action to the command the catalog created (name and summary). */
export interface CommandDefinition {
  define(command: Command, io: CliIo): Command;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** What every command's action starts from: the io, with --quiet applied to its messages (--debug is runCli's). */
export interface CommandContext {
  reporter: Reporter;
  /** Writes results (tables, JSON) to stdout. */
  print(text: string): void;
  env: NodeJS.ProcessEnv;
}

export function commandContext(command: Command, io: CliIo): CommandContext {
  const quiet = command.optsWithGlobals<{ quiet?: boolean }>().quiet === true;
  return {
    reporter: createConsoleReporter({ quiet, stream: io.stderr }),
    print: (text) => void io.stdout.write(text),
    env: io.env,
  };
}
