#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Node 20 gives each test file a process of its own, which loads the tool's modules (DuckDB,
// ONNX Runtime, vega …) once per file; instead the files are dealt into a few bundles, one
// module importing its share, and the bundles run side by side, one process each.
// Extra arguments filter by path substring. RESID_NORMS_TEST_BUNDLES sets the number of bundles.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function listTests(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return listTests(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = listTests('dist/test')
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// Tests wait on child processes, servers, timers and disks part of the time: two bundles more
// than cores (on 2 cores, 4 bundles took 78–85 s, 3 took 88 s, 5 and 6 over 95 s).
const requested = Number(process.env.RESID_NORMS_TEST_BUNDLES ?? availableParallelism() + 2);
const count = Math.max(1, Math.min(files.length, Number.isInteger(requested) ? requested : 1));
const folder = resolve('dist/test-bundles');
rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
const bundles = Array.from({ length: count }, (_, index) => {
  const share = files.filter((_, position) => position % count === index);
  const path = join(folder, `bundle-${index + 1}.mjs`);
  writeFileSync(path, share.map((file) => `import ${JSON.stringify(pathToFileURL(resolve(file)).href)};\n`).join(''));
  return path;
});
// One ONNX Runtime thread per session: bundles already keep the cores busy, and idle threads of
// several sessions would spin against each other (tests that pass --threads still get theirs).
const env = { ...process.env, RESID_NORMS_THREADS: process.env.RESID_NORMS_THREADS ?? '1' };
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${count}`, '--test-reporter=spec', ...bundles], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
