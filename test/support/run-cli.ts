/**
 * Runs the CLI as a user would, capturing exit code and output, in this process:
 * src/cli/main.ts's runCli with captured streams, the given environment and working folder, one
 * run at a time. What only a process shows (signals, a closed stdout, start-up, the installed
 * entry point) is tested by starting `CLI` (bin/resid-norms.js) as a child process: the
 * interrupt, closed-stdout, Hub-timeout, sweep and action tests.
 */
import { fileURLToPath } from 'node:url';
import { runCli as runCommandLine } from '../../src/cli/main.js';

export const CLI = fileURLToPath(new URL('../../../bin/resid-norms.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Give up after this long: the run is abandoned, and the result has code -1 and says so on stderr. */
  timeoutMs?: number;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const run = queue.then(() => runInProcess(args, options));
  queue = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

/** In-process runs share the working folder and signal handlers, so they take turns. */
let queue: Promise<void> = Promise.resolve();

function environment(options: CliOptions): NodeJS.ProcessEnv {
  return { ...process.env, HF_HUB_OFFLINE: '', ...options.env };
}

async function runInProcess(args: string[], options: CliOptions): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: environment(options),
  };
  const home = process.cwd();
  if (options.cwd !== undefined) process.chdir(options.cwd);
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = runCommandLine([process.execPath, CLI, ...args], io);
    const timeout = new Promise<number>((resolve) => {
      if (options.timeoutMs !== undefined) timer = setTimeout(() => resolve(-1), options.timeoutMs);
    });
    const code = await Promise.race([run, timeout]);
    if (code === -1) stderr += `\n[test] gave up after ${options.timeoutMs} ms\n`;
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    if (options.cwd !== undefined) process.chdir(home);
  }
}
