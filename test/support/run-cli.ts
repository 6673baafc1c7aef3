/**
 * Runs the CLI as a user would, capturing exit code and output: in this process by default
 * (src/cli/main.ts's runCli with captured streams, the given environment and working folder,
 * one run at a time), or as its own process (bin/resid-norms.js) with `process: true`, for what
 * only a process shows: signals, a closed stdout, start-up, the installed entry point.
 */
import { spawn } from 'node:child_process';
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
  /** Give up after this long: a process is killed (SIGKILL); in-process, the run is abandoned. The result then has code -1 and says so on stderr. */
  timeoutMs?: number;
  /** Run bin/resid-norms.js as a child process instead of in this one. */
  process?: boolean;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  if (options.process === true) return runCliProcess(args, options);
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

export function runCliProcess(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: environment(options),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      stderr += `\n[test] killed after ${options.timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
