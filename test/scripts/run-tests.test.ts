/**
 * scripts/run-tests.mjs, run on a made-up project of three test files: the queue runs every file,
 * a failure fails the run, --record-durations writes test/durations.json, and bad input (a
 * broken durations file, a filter that matches nothing, --record-durations with a filter) is
 * answered in one line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/package-paths.js';

function runTests(cwd: string, args: string[], workers = 2): Promise<{ code: number | null; output: string }> {
  // Without NODE_TEST_CONTEXT, which node's runner sets in its test processes: with it, a runner
  // started from one skips its files as a recursive run.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-tests.mjs', ...args], {
      cwd,
      env: { ...env, RESID_NORMS_TEST_WORKERS: String(workers) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const passing = (name: string) => `import { it } from 'node:test';\nit('${name} passes', () => {});\n`;

/** The files that passed, in the order their suites ended (the order they ran, with one worker). */
const fileOrder = (output: string) => [...output.matchAll(/^✔ (\S+\.test\.ts) \(/gm)].map((match) => match[1]);

describe('scripts/run-tests.mjs', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-run-tests-'));
    await mkdir(join(root, 'scripts'));
    for (const name of ['run-tests.mjs', 'test-worker.mjs']) await copyFile(join(PACKAGE_ROOT, 'scripts', name), join(root, 'scripts', name));
    await mkdir(join(root, 'dist', 'test', 'one'), { recursive: true });
    await mkdir(join(root, 'test', 'one'), { recursive: true });
    for (const name of ['one/a', 'one/b', 'c']) await writeCompiled(name, passing(name.slice(-1)));
  });

  /** A test file as the build leaves it: its compiled file in dist/test/ and its source in test/. */
  async function writeCompiled(name: string, text: string): Promise<void> {
    await writeFile(join(root, 'dist', 'test', `${name}.test.js`), text);
    await writeFile(join(root, 'test', `${name}.test.ts`), text);
  }
  after(async () => rm(root, { recursive: true, force: true }));

  it('runs every file as a suite named after it, and --record-durations writes test/durations.json', async () => {
    const run = await runTests(root, ['--record-durations']);
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(fileOrder(run.output).sort(), ['c.test.ts', 'one/a.test.ts', 'one/b.test.ts']);
    assert.match(run.output, /ℹ fail 0\n/);
    const durations = JSON.parse(await readFile(join(root, 'test', 'durations.json'), 'utf8')) as Record<string, number>;
    assert.deepEqual(Object.keys(durations), ['c.test.ts', 'one/a.test.ts', 'one/b.test.ts']);
    assert.ok(Object.values(durations).every((seconds) => seconds >= 0));
  });

  it('runs the files it has no duration for first, then the longest first', async () => {
    await writeFile(join(root, 'test', 'durations.json'), JSON.stringify({ 'c.test.ts': 1, 'one/b.test.ts': 9 }));
    const run = await runTests(root, [], 1);
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(fileOrder(run.output), ['one/a.test.ts', 'one/b.test.ts', 'c.test.ts']);
  });

  it('runs in name order, saying so in one line, when test/durations.json is not JSON', async () => {
    await writeFile(join(root, 'test', 'durations.json'), '{ broken');
    const run = await runTests(root, [], 1);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^test\/durations\.json is not valid JSON \(.*\); running the files in name order \(npm run test:durations writes it again\)$/m);
    assert.deepEqual(fileOrder(run.output), ['c.test.ts', 'one/a.test.ts', 'one/b.test.ts']);
  });

  it('fails the run when a test fails, and only runs the files a filter names', async () => {
    await writeCompiled('one/failing', "import { it } from 'node:test';\nimport assert from 'node:assert';\nit('fails', () => assert.equal(1, 2));\n");
    try {
      const run = await runTests(root, ['one/']);
      assert.equal(run.code, 1, run.output);
      assert.match(run.output, /^✖ one\/failing\.test\.ts \(/m);
      assert.deepEqual(fileOrder(run.output).sort(), ['one/a.test.ts', 'one/b.test.ts']);
      assert.match(run.output, /ℹ fail 1\n/);
      assert.doesNotMatch(run.output, /c\.test\.ts/);
    } finally {
      await rm(join(root, 'dist', 'test', 'one', 'failing.test.js'));
      await rm(join(root, 'test', 'one', 'failing.test.ts'));
    }
  });

  it('does not run a compiled file whose source is gone (a test moved or deleted since the last build)', async () => {
    await writeFile(
      join(root, 'dist', 'test', 'one', 'moved.test.js'),
      "import { it } from 'node:test';\nit('would fail', () => { throw new Error('stale'); });\n",
    );
    try {
      const run = await runTests(root, []);
      assert.equal(run.code, 0, run.output);
      assert.deepEqual(fileOrder(run.output).sort(), ['c.test.ts', 'one/a.test.ts', 'one/b.test.ts']);
    } finally {
      await rm(join(root, 'dist', 'test', 'one', 'moved.test.js'));
    }
  });

  it('refuses a filter that matches nothing, and --record-durations with a filter, in one line', async () => {
    const none = await runTests(root, ['no-such-file']);
    assert.deepEqual([none.code, none.output], [1, 'no test files match no-such-file\n']);
    const filtered = await runTests(root, ['--record-durations', 'one/']);
    assert.deepEqual([filtered.code, filtered.output], [1, '--record-durations needs a full run: leave out the filters\n']);
  });
});
