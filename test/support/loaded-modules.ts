/**
 * Which modules a CLI run loads: runs bin/resid-norms.js with a module-loader hook that records
 * every URL it loads (ES modules, and the entry of each CommonJS package imported from one).
 * Used to check that commands load only what they use (vega, onnxruntime, DuckDB …).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './run-cli.js';

/** Runs in the loader's own thread; appends each loaded URL to the file named by `data`. */
const HOOKS = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data; }
export async function load(url, context, nextLoad) { appendFileSync(file, url + '\\n'); return nextLoad(url, context); }
`;

function registration(file: string): string {
  const hooks = `data:text/javascript,${encodeURIComponent(HOOKS)}`;
  const source = `import { register } from 'node:module'; register(${JSON.stringify(hooks)}, { data: ${JSON.stringify(file)} });`;
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
    const result = spawnSync(process.execPath, ['--import', registration(file), CLI, ...args], { cwd: options.cwd ?? process.cwd(), encoding: 'utf8', timeout: 60_000 });
    const urls = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
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
  const names = modules.filter((module) => !module.startsWith('dist/') && !module.startsWith('node:') && !module.startsWith('data:') && !module.startsWith('file:'));
  return new Set(names.map((module) => module.split('/').slice(0, module.startsWith('@') ? 2 : 1).join('/')));
}
