/** Globs that mix file kinds: fit, plot and report take what they read, use a fit file as --fit where they draw fits, and name the rest in one line. */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { peekDocumentKind, SWEEP_PLAN_FORMAT_NAME } from '../../src/results/document-kinds.js';
import { SWEEP_PLAN_FORMAT } from '../../src/sweep/sweep-plan.js';
import { runCli } from '../support/run-cli.js';

describe('inputs of several kinds (results/*.json)', () => {
  let cwd: string;
  /** What `results/*.json` expands to in a folder holding every kind of file. */
  let glob: string[];
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'rn-mixed-'));
    await cp(join(PACKAGE_ROOT, 'examples'), join(cwd, 'results'), { recursive: true, filter: (source) => !/plots|report/.test(source) });
    await writeFile(join(cwd, 'results', 'package.json'), '{"name": "not ours"}');
    glob = (await readdir(join(cwd, 'results')))
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => `results/${name}`);
  });
  after(async () => rm(cwd, { recursive: true, force: true }));

  it('fit fits the results and weights files and names the fit, mechanisms and other JSON files it left, in one line', async () => {
    const run = await runCli(['fit', ...glob, '--bootstrap', '0'], { cwd });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stderr.split('\n').filter((line) => line.startsWith('fit: skipped'));
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0]!,
      /skipped 3 files it does not read: "results\/demo-gpt2\.fit\.json" \(a fit file\), "results\/demo-gpt2\.mechanisms\.json" \(a mechanisms file\), "results\/package\.json" \(JSON that resid-norms did not write\) \(fit reads results and weights files\)/,
    );
    assert.match(run.stdout, /demo-gpt2\.json/);
    assert.match(run.stdout, /demo-gpt2\.weights\.json/);
  });

  it('plot and report take the mechanisms file as an input and the fit file as --fit', async () => {
    for (const command of ['plot', 'report']) {
      const run = await runCli([command, ...glob, '--figures', 'growth,mlp-random', '--out', `${command}-out/`], { cwd });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`${command}: drawing the fits of "results/demo-gpt2\\.fit\\.json"`));
      assert.match(run.stderr, new RegExp(`${command}: skipped 1 file it does not read: "results/package\\.json"`));
    }
    assert.deepEqual((await readdir(join(cwd, 'plot-out'))).sort(), ['growth.svg', 'mlp-random.svg']);
  });

  it('keeps a fit file among the inputs out when --fit names one, and refuses a list of nothing it reads', async () => {
    const run = await runCli(
      ['plot', 'results/demo-gpt2.json', 'results/demo-gpt2.fit.json', '--fit', 'results/demo-gpt2.fit.json', '--figures', 'growth', '--out', 'fit-given/'],
      { cwd },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /skipped 1 file it does not read: "results\/demo-gpt2\.fit\.json" \(a fit file, and --fit names one\)/);
    const none = await runCli(['fit', 'results/demo-gpt2.fit.json', 'results/demo-gpt2.mechanisms.json'], { cwd });
    assert.equal(none.code, 3, 'the readers refuse the files, as for any file that is not a results file');
    assert.match(none.stderr, /"results\/demo-gpt2\.fit\.json" is not a resid-norms results file/);
  });

  it('leaves a file that is not readable as one of ours to the reader, which names the problem', async () => {
    await writeFile(join(cwd, 'results', 'truncated.json'), '{"format": "resid-norms/measurement", "ver');
    const run = await runCli(['fit', 'results/demo-gpt2.json', 'results/truncated.json'], { cwd });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /"results\/truncated\.json" is not JSON/);
    assert.equal(await peekDocumentKind(join(cwd, 'results', 'truncated.json')), 'unknown');
    assert.equal(await peekDocumentKind(join(cwd, 'results', 'package.json')), 'foreign');
    assert.equal(await peekDocumentKind(join(cwd, 'results', 'demo-gpt2.mechanisms.json')), 'mechanisms');
    assert.equal(await peekDocumentKind(join(cwd, 'results')), 'unknown', 'a folder');
    assert.equal(SWEEP_PLAN_FORMAT_NAME, SWEEP_PLAN_FORMAT);
  });
});
