#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Node 20 gives each test file a process of its own, which loads the tool's modules (DuckDB,
// ONNX Runtime, vega …) once per file; instead a few workers (scripts/test-worker.mjs), one
// process each, run side by side and take the files from one queue, longest first as
// test/durations.json last measured them (files it does not list go first: they may be long).
// Extra arguments filter by path substring. RESID_NORMS_TEST_WORKERS sets the number of workers.
// --record-durations: after a full run that passes, write the files' durations to test/durations.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const DURATIONS = 'test/durations.json';

function listTests(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return listTests(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const record = args.includes('--record-durations');
const filters = args.filter((arg) => arg !== '--record-durations');
// A compiled file whose source is gone (moved or deleted since the last build: tsc leaves its output behind) is not run.
const tests = listTests('dist/test')
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .map((file) => ({ path: resolve(file), name: relative('dist/test', file).replace(/\.js$/, '.ts') }))
  .filter((test) => existsSync(join('test', test.name)));
if (tests.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
if (record && filters.length > 0) {
  console.error('--record-durations needs a full run: leave out the filters');
  process.exit(1);
}

// Longest first, so that no long file starts last while the other workers have run dry.
function readDurations() {
  if (!existsSync(DURATIONS)) return {};
  try {
    return JSON.parse(readFileSync(DURATIONS, 'utf8'));
  } catch (error) {
    console.error(`${DURATIONS} is not valid JSON (${error.message}); running the files in name order (npm run test:durations writes it again)`);
    return {};
  }
}
const durations = readDurations();
const cost = (test) => durations[test.name] ?? Infinity;
tests.sort((a, b) => cost(b) - cost(a) || a.name.localeCompare(b.name));

// One worker per core. More would fill the moments a test waits on a process, a server or a
// timer, but each extra worker costs more CPU than those moments give back: on 2 cores, in
// adjacent runs, 2 workers took 99–123 CPU-s (59–73 s), 3 took 116–129 (65–72 s) and 4 took
// 136–157 (75–86 s); the cores were busy all the time with any of them.
const requested = Number(process.env.RESID_NORMS_TEST_WORKERS ?? availableParallelism());
const count = Math.max(1, Math.min(tests.length, Number.isInteger(requested) ? requested : 1));
const queue = resolve('dist/test-queue');
rmSync(queue, { recursive: true, force: true });
mkdirSync(join(queue, 'pending'), { recursive: true });
mkdirSync(join(queue, 'claimed'));
tests.forEach((test, position) => writeFileSync(join(queue, 'pending', String(position).padStart(5, '0')), JSON.stringify(test)));
const worker = pathToFileURL(resolve('scripts/test-worker.mjs')).href;
// Node's runner starts one process per file it is given: one small file per worker.
const workers = Array.from({ length: count }, (_, index) => {
  const path = join(queue, `worker-${index + 1}.mjs`);
  writeFileSync(path, `import ${JSON.stringify(worker)};\n`);
  return path;
});
// One ONNX Runtime thread per session: workers already keep the cores busy, and idle threads of
// several sessions would spin against each other (tests that pass --threads still get theirs).
// NODE_EXTRA_CA_CERTS makes every Node process parse that CA bundle as it starts (50 ms each
// for Debian's); the tests speak only to 127.0.0.1 over plain HTTP, so their processes go without.
const { NODE_EXTRA_CA_CERTS: _bundle, ...inherited } = process.env;
const env = { ...inherited, RESID_NORMS_THREADS: process.env.RESID_NORMS_THREADS ?? '1', RESID_NORMS_TEST_QUEUE: queue };
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${count}`, '--test-reporter=spec', ...workers], { stdio: 'inherit', env });

const left = readdirSync(join(queue, 'pending'));
if (left.length > 0) {
  console.error(`${left.length} test files were never run (a worker stopped early)`);
  process.exit(1);
}
if (record && result.status === 0) {
  const measured = readFileSync(join(queue, 'durations.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const table = Object.fromEntries(measured.sort((a, b) => a.name.localeCompare(b.name)).map(({ name, seconds }) => [name, Math.round(seconds * 10) / 10]));
  writeFileSync(DURATIONS, `${JSON.stringify(table, null, 2)}\n`);
  console.error(`wrote the durations of ${measured.length} test files to ${DURATIONS}`);
}
process.exit(result.status ?? 1);
