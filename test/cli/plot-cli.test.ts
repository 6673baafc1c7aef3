/** `resid-norms plot` and `report` as a user runs them: results, and every bad input. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { FIGURE_NAMES } from '../../src/figures/figure-registry.js';
import { TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH, readTinyMeasurement, toParallelResidual } from '../figures/plot-fixtures.js';
import { runCli } from '../support/run-cli.js';

describe('resid-norms plot and report, end to end', () => {
  let root: string;
  let notResults: string;
  let aFile: string;
  let parallel: string;
  let otherShape: string;
  let weightsV2: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-plot-cli-'));
    notResults = join(root, 'other.json');
    await writeFile(notResults, '{"a": 1}');
    aFile = join(root, 'a-file');
    await writeFile(aFile, 'not a folder');
    parallel = join(root, 'parallel.json');
    await writeFile(parallel, JSON.stringify(toParallelResidual(await readTinyMeasurement())));
    const wide = await readTinyMeasurement();
    wide.model.nHeads = 8;
    otherShape = join(root, 'eight-heads.json');
    await writeFile(otherShape, JSON.stringify(wide));
    weightsV2 = join(root, 'v2.weights.json');
    await writeFile(weightsV2, JSON.stringify({ ...JSON.parse(await readFile(TINY_WEIGHTS_PATH, 'utf8')), version: 2 }));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('plot writes the chosen figures and says what the one-model comparison shows', async () => {
    const out = join(root, 'plots');
    const result = await runCli(['plot', TINY_MEASUREMENT_PATH, '--out', out, '--figures', 'compare,growth', '--format', 'svg,png']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['compare.png', 'compare.svg', 'growth.png', 'growth.svg']);
    assert.match(result.stderr, /compare: one model only: give several results files to compare models/);
    assert.equal(result.stdout, '');
  });

  it('plot draws figure 9 from a weights file and the results file of the same model', async () => {
    const out = join(root, 'weights');
    const result = await runCli(['plot', TINY_WEIGHTS_PATH, TINY_MEASUREMENT_PATH, '--figures', 'weights', '--out', out, '--format', 'png']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(out), ['weights.png']);
    assert.equal(result.stderr, `wrote 1 file to ${out}\n`);
  });

  it('report writes index.html, summary.md and the figures as SVG files', async () => {
    const out = join(root, 'report');
    const result = await runCli(['--quiet', 'report', TINY_MEASUREMENT_PATH, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['figures', 'index.html', 'summary.md']);
    assert.equal((await readdir(join(out, 'figures'))).length, 10, 'the 10 figures of one results file');
  });

  it('plot --help lists every figure', async () => {
    const result = await runCli(['plot', '--help']);
    assert.equal(result.code, 0);
    for (const name of FIGURE_NAMES) assert.match(result.stdout, new RegExp(`^  ${name} `, 'm'));
  });

  // Every bad input: exit code, one line naming the problem, no stack trace, no output.
  const cases: Array<{ name: string; args: () => string[]; code: number; message: RegExp }> = [
    {
      name: 'no input files',
      args: () => ['plot', '--out', join(root, 'x')],
      code: ExitCode.usage,
      message: /no results files given; give one or more JSON files written by `resid-norms measure`/,
    },
    { name: 'no input files (report)', args: () => ['report', '--out', join(root, 'x')], code: ExitCode.usage, message: /no results files given/ },
    {
      name: 'a non-results file',
      args: () => ['plot', notResults, '--out', join(root, 'x')],
      code: ExitCode.badInput,
      message:
        /other\.json" is not a resid-norms results file \(no "format" field; expected format "resid-norms\/measurement", "resid-norms\/weights" or "resid-norms\/mechanisms"\)/,
    },
    {
      name: 'a missing file',
      args: () => ['plot', join(root, 'nope.json'), '--out', join(root, 'x')],
      code: ExitCode.badInput,
      message: /cannot read results file .*nope\.json": no such file/,
    },
    {
      name: 'an unknown figure',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--figures', 'growth,nope'],
      code: ExitCode.usage,
      message: new RegExp(`option '--figures <list>' argument 'growth,nope' is invalid\\. unknown figure "nope"; valid: ${FIGURE_NAMES.join(', ')}`),
    },
    {
      name: 'an output folder that cannot be created',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(aFile, 'plots')],
      code: ExitCode.usage,
      message: /cannot create output folder ".*a-file\/plots": a file is in the way; give --out a folder that can be created/,
    },
    {
      name: 'a report folder that cannot be created',
      args: () => ['report', TINY_MEASUREMENT_PATH, '--out', aFile],
      code: ExitCode.usage,
      message: /cannot create output folder ".*a-file": a file is in the way/,
    },
    {
      name: '--prompt out of range',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--prompt', '3'],
      code: ExitCode.usage,
      message: /--prompt 3 is out of range for ".*tiny-measurement\.json" \(tiny-gpt2, 3 prompts; valid: 0–2\)/,
    },
    {
      name: '--prompt not a number',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--prompt', 'two'],
      code: ExitCode.usage,
      message: /option '--prompt <n>' argument 'two' is invalid\. expected a whole number ≥ 0, got "two"/,
    },
    {
      name: 'an unknown format',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--format', 'gif'],
      code: ExitCode.usage,
      message: /option '--format <list>' argument 'gif' is invalid\. unknown format "gif"; valid: svg, png/,
    },
    {
      name: 'an unknown hook',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--hook', 'resid_mud'],
      code: ExitCode.usage,
      message: /option '--hook <name>' argument 'resid_mud' is invalid\. unknown hook "resid_mud"; valid: resid_pre, attn_out, resid_mid, mlp_out, resid_post/,
    },
    {
      name: 'two hooks where one is drawn',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--hook', 'resid_pre,mlp_out'],
      code: ExitCode.usage,
      message: /argument 'resid_pre,mlp_out' is invalid\. give one hook/,
    },
    {
      name: 'an unknown --rescale',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--rescale', 'log'],
      code: ExitCode.usage,
      message: /option '--rescale <how>' argument 'log' is invalid\. expected one of none, sqrt-d/,
    },
    {
      name: 'an unknown --x',
      args: () => ['report', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--x', 'depth'],
      code: ExitCode.usage,
      message: /option '--x <axis>' argument 'depth' is invalid\. expected one of layer, relative-depth/,
    },
    { name: 'no --out', args: () => ['plot', TINY_MEASUREMENT_PATH], code: ExitCode.usage, message: /required option '-o, --out <folder>' not specified/ },
    {
      name: 'a fit file that is not one',
      args: () => ['plot', TINY_MEASUREMENT_PATH, '--out', join(root, 'x'), '--figures', 'growth', '--fit', notResults],
      code: ExitCode.badInput,
      message: /other\.json" is not a resid-norms fit file/,
    },
    {
      name: 'an unknown --variant',
      args: () => ['plot', TINY_WEIGHTS_PATH, '--out', join(root, 'x'), '--variant', 'folded'],
      code: ExitCode.usage,
      message: /option '--variant <variant>' argument 'folded' is invalid\. expected one of raw, processed/,
    },
    {
      name: 'weights and results of the same model id but another shape',
      args: () => ['plot', TINY_WEIGHTS_PATH, otherShape, '--out', join(root, 'x')],
      code: ExitCode.badInput,
      message:
        /tiny-gpt2\.weights\.json" and ".*eight-heads\.json": the weights \(tiny-gpt2: nHeads 4\) and the measurement \(tiny-gpt2: nHeads 8\) are not of the same model; give files of one model/,
    },
    {
      name: 'a weights file of an unknown version (report)',
      args: () => ['report', weightsV2, TINY_MEASUREMENT_PATH, '--out', join(root, 'x')],
      code: ExitCode.badInput,
      message: /v2\.weights\.json" has weights version 2, which this resid-norms does not know; supported: 1/,
    },
    {
      name: 'only figures that need a results file, from a weights file',
      args: () => ['plot', TINY_WEIGHTS_PATH, '--figures', 'growth,compare', '--out', join(root, 'x')],
      code: ExitCode.badInput,
      message: /nothing to draw: no results file of `resid-norms measure` was given \(only weights files\); choose other figures with --figures/,
    },
    {
      name: 'figures that cannot be drawn from the input',
      args: () => ['plot', parallel, '--out', join(root, 'x'), '--figures', 'resid-mid'],
      code: ExitCode.badInput,
      message:
        /nothing to draw: tiny-pythia is a parallel-residual model \(attention and MLP read the same input\), so it has no resid_mid; choose other figures with --figures/,
    },
  ];
  for (const { name, args, code, message } of cases) {
    it(`refuses ${name}`, async () => {
      const result = await runCli(args());
      assert.equal(result.code, code, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
      assert.match(lines[0]!, /^resid-norms: /);
      assert.match(lines[0]!, message);
      await assert.rejects(readdir(join(root, 'x')), /ENOENT/, 'no output folder');
    });
  }
});
