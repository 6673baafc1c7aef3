/**
 * Which modules a CLI run loads: runs bin/resid-norms.js with a preload that starts V8's precise
 * coverage (function level, no counts) before anything else loads, and writes the URL of every
 * script it holds as the process exits: ES modules and every CommonJS file alike. Precise
 * coverage keeps each script listed; best-effort coverage drops modules whose functions have
 * been collected (vega's entry, which only re-exports), so it could not be trusted here.
 * Used to check that commands load only what they use (vega, onnxruntime, DuckDB …).
 * A module-loader hook saw the ES modules too, but Node 20 runs hooks in a thread of their own:
 * `fit` took 1.2 CPU-s under it, against 1.0 with this preload and 1.0 without either.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './run-cli.js';

function preload(file: string): string {
  const source = `
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.startPreciseCoverage', { callCount: false, detailed: false });
process.on('exit', () => {
  // A session of the process's own thread answers at once, so the file is written before exit.
  session.post('Profiler.takePreciseCoverage', (error, coverage) => {
    writeFileSync(${JSON.stringify(file)}, error ? 'error: ' + error.message : coverage.result.map((script) => script.url).join('\\n'));
  });
});
`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

export interface LoadedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Loaded URLs, as file paths relative to node_modules/ or the project where they are there. */
  modules: string[];
}

export function runRecordingLoads(args: string[], options: { cwd?: string } = {}): LoadedRun {
  const dir = mkdtempSync(join(tmpdir(), 'resid-norms-loads-'));
  const file = join(dir, 'loaded.txt');
  try {
    const result = spawnSync(process.execPath, ['--import', preload(file), CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    const written = readFileSync(file, 'utf8');
    if (written.startsWith('error: ')) throw new Error(`V8 did not list the loaded scripts: ${written}`);
    const urls = written.split('\n').filter((line) => line !== '' && !line.startsWith('node:'));
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, modules: urls.map(shorten) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function shorten(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const project = url.indexOf('/dist/');
  return project >= 0 ? url.slice(project + 1) : url;
}

/** The packages among loaded modules (`@scope/name` or `name`). */
export function packagesOf(modules: readonly string[]): Set<string> {
  const names = modules.filter(
    (module) => !module.startsWith('dist/') && !module.startsWith('node:') && !module.startsWith('data:') && !module.startsWith('file:'),
  );
  return new Set(
    names.map((module) =>
      module
        .split('/')
        .slice(0, module.startsWith('@') ? 2 : 1)
        .join('/'),
    ),
  );
}
