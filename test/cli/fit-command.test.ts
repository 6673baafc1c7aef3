import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DOMParser, type Document } from '@xmldom/xmldom';
import { InvalidArgumentError } from 'commander';
import { parseGrowthRange, parseLayerRange } from '../../src/cli/fit-command.js';
import { ExitCode } from '../../src/errors.js';
import { FitFileSchema } from '../../src/results/fit-schema.js';
import { runCli } from '../support/run-cli.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

describe('fit flag parsing', () => {
  it('reads inclusive layer ranges with open ends', () => {
    assert.deepEqual(parseLayerRange('5:41'), { from: 5, to: 41 });
    assert.deepEqual(parseLayerRange('5:'), { from: 5 });
    assert.deepEqual(parseLayerRange(' :20'), { to: 20 });
    assert.deepEqual(parseLayerRange(':'), {});
    for (const bad of ['5-41', '5', 'a:b', '-3:', '5:41:2', '7:3', '1.5:4', '']) {
      assert.throws(() => parseLayerRange(bad), InvalidArgumentError, bad);
    }
  });

  it('reads growth ranges with open ends', () => {
    assert.deepEqual(parseGrowthRange('1.03..1.06'), { low: 1.03, high: 1.06 });
    assert.deepEqual(parseGrowthRange('1.03..'), { low: 1.03 });
    assert.deepEqual(parseGrowthRange('..1.06'), { high: 1.06 });
    assert.deepEqual(parseGrowthRange('1..2'), { low: 1, high: 2 });
    for (const bad of ['1.03-1.06', '1.03', '..', '1.06..1.03', 'a..b', '0..1.1', '1.03...1.06', '-1..2']) {
      assert.throws(() => parseGrowthRange(bad), InvalidArgumentError, bad);
    }
  });
});

describe('resid-norms fit (the installed command)', () => {
  let folder: string;
  let results: string;
  const cli = (...args: string[]) => runCli(['fit', ...args]);
  const expectFailure = async (args: string[], code: number, pattern: RegExp): Promise<void> => {
    const run = await cli(...args);
    assert.equal(run.code, code, `exit code of fit ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, pattern);
    assert.equal(run.stderr.trimEnd().split('\n').length, 1, `one line: ${run.stderr}`);
    assert.equal(run.stdout, '');
  };

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'resid-norms-fit-cli-'));
    results = join(folder, 'r.json');
    await writeFile(
      results,
      JSON.stringify(syntheticMeasurement({ nLayers: 12, sequences: 5, hooks: ['resid_pre', 'resid_post'], phases: [{ fromLayer: 0, growth: 1.05 }] })),
    );
    await writeFile(join(folder, 'v9.json'), JSON.stringify({ ...syntheticMeasurement({ nLayers: 3 }), version: 9 }));
    await writeFile(join(folder, 'other.json'), '{"hello": "world"}');
    const zero = syntheticMeasurement({ nLayers: 6, sequences: 2, hooks: ['attn_out'] });
    for (const sequence of zero.sequences) sequence.norms.attn_out![0] = sequence.norms.attn_out![0]!.map(() => 0);
    await writeFile(join(folder, 'zero.json'), JSON.stringify(zero));
  });
  after(async () => rm(folder, { recursive: true, force: true }));

  it('prints a table and exits 0', async () => {
    const run = await cli(results, '--hook', 'resid_post', '--layers', '2:', '--bootstrap', '200');
    assert.equal(run.code, ExitCode.ok, run.stderr);
    assert.match(run.stdout, /^r\.json\s+resid_post\s+2:11\s+×1\.0\d{3}\s/m);
    const wide = await cli(results, '--hook', 'resid_post', '--layers', '2:', '--bootstrap', '200', '--wide');
    assert.match(wide.stdout, /r\.json\s+synthetic\/gpt2-like\s+resid_post\s+centered\s+mean\s+2:11\s+ols\s+1\.0\d{3}\s/);
    assert.equal(run.stderr, '');
  });

  it('--like-reference refuses the flags it fixes', () =>
    expectFailure(
      [results, '--like-reference', '--hook', 'resid_pre', '--method', 'ols'],
      ExitCode.usage,
      /^resid-norms: --like-reference fixes --hook, --method \(resid_post, layers 5:41 of 48 scaled to the depth, endpoints, mean, centered\); drop them or drop --like-reference/,
    ));

  it('prints JSON that validates as a fit document', async () => {
    const run = await cli(results, '--json', '--stat', 'median', '--metric', 'raw', '--seed', '7', '--bootstrap', '50', '--segments', '2');
    assert.equal(run.code, ExitCode.ok, run.stderr);
    const document = FitFileSchema.parse(JSON.parse(run.stdout));
    const fit = document.fits[0]!;
    assert.deepEqual(
      [fit.hook, fit.stat, fit.metric, fit.bootstrap?.seed, fit.bootstrap?.samples, fit.phases.length],
      ['resid_post', 'median', 'raw', 7, 50, 2],
      'resid_post, the headline, by default',
    );
  });

  it('exits 0 inside --expect and 1 outside, with a clear message', async () => {
    assert.equal((await cli(results, '--expect', '1.03..1.07', '--bootstrap', '50')).code, ExitCode.ok);
    const run = await cli(results, '--expect', '1.06..1.08', '--bootstrap', '50');
    assert.equal(run.code, ExitCode.expectationFailed);
    assert.match(
      run.stderr,
      /^resid-norms: growth outside --expect 1\.06\.\.1\.08 in 1 of 1 fits: .*r\.json resid_post layers 0:11: growth 1\.0\d{3} \(95% CI /,
    );
    assert.match(run.stdout, /^file/, 'the table is still printed');
  });

  it('writes the gate as JUnit XML with --junit: one testcase per fit, a failure when outside --expect', async () => {
    const junit = join(folder, 'gate', 'fit.xml');
    const read = async (): Promise<Document> => new DOMParser().parseFromString(await readFile(junit, 'utf8'), 'text/xml');
    const inside = await cli(results, '--hook', 'resid_pre,resid_post', '--expect', '1.03..1.07', '--bootstrap', '50', '--junit', junit);
    assert.equal(inside.code, ExitCode.ok, inside.stderr);
    let document = await read();
    const suites = document.getElementsByTagName('testsuites')[0]!;
    assert.deepEqual([suites.getAttribute('tests'), suites.getAttribute('failures')], ['2', '0']);
    const cases = Array.from(document.getElementsByTagName('testcase'));
    assert.deepEqual(
      cases.map((testcase) => testcase.getAttribute('classname')),
      [results, results],
    );
    assert.match(cases[0]!.getAttribute('name')!, /^resid_pre \(centered, mean\) layers 0:11: growth per layer in 1\.03\.\.1\.07$/);
    assert.match(cases[1]!.getElementsByTagName('system-out')[0]!.textContent!, /^growth ×1\.0\d{3} per layer \(95% CI /);

    const outside = await cli(results, '--expect', '1.06..1.08', '--bootstrap', '50', '--junit', junit);
    assert.equal(outside.code, ExitCode.expectationFailed);
    assert.match(outside.stderr, /growth outside --expect 1\.06\.\.1\.08 in 1 of 1 fits/, 'the gate says why, as without --junit');
    document = await read();
    assert.equal(document.getElementsByTagName('testsuites')[0]!.getAttribute('failures'), '1');
    const failure = document.getElementsByTagName('failure')[0]!;
    assert.match(failure.getAttribute('message')!, /^growth ×1\.0\d{3} is outside --expect 1\.06\.\.1\.08$/);
    assert.deepEqual(await readdir(join(folder, 'gate')), ['fit.xml'], 'written atomically: no temp file left');
  });

  it('reads several hooks, comma-separated or repeated', async () => {
    const run = await cli(results, '--hook', 'resid_post,hook_resid_pre', '--hook', 'resid_post', '--bootstrap', '0', '--json');
    assert.equal(run.code, ExitCode.ok, run.stderr);
    assert.deepEqual(
      FitFileSchema.parse(JSON.parse(run.stdout)).fits.map((fit) => fit.hook),
      ['resid_post', 'resid_pre'],
    );
  });

  it('exits 2 with one line for bad flags', async () => {
    await expectFailure([results, '--layers', '5-9'], ExitCode.usage, /--layers <A:B>' argument '5-9' is invalid\. expected A:B/);
    await expectFailure([results, '--expect', '1.03:1.06'], ExitCode.usage, /--expect <LO\.\.HI>' argument '1\.03:1\.06' is invalid\. expected LO\.\.HI/);
    await expectFailure([results, '--stat', 'mode'], ExitCode.usage, /argument 'mode' is invalid.*mean, median/);
    await expectFailure([results, '--hook', 'resid'], ExitCode.usage, /unknown hook "resid"; valid: resid_pre, attn_out/);
    await expectFailure([results, '--min-segment', '2'], ExitCode.usage, /expected at least 3 layers/);
    await expectFailure(
      [results, '--bootstrap', '-5'],
      ExitCode.usage,
      /--bootstrap <n>' argument '-5' is invalid\. expected a whole number from 0 to 100000, got "-5"/,
    );
    await expectFailure([results, '--layers', '5:12'], ExitCode.usage, /layers 5:12 are outside .*r\.json's layers; valid: 0:11 \(12 layers\)/);
    await expectFailure([results, '--layers', '10:'], ExitCode.usage, /layers 10:11 give 2 layers; a growth fit needs at least 3/);
    await expectFailure([results, '--hook', 'attn_out'], ExitCode.usage, /has no hook "attn_out"; hooks present: resid_pre, resid_post/);
  });

  it('exits 3 with one line for files that are not results files', async () => {
    await expectFailure([join(folder, 'v9.json')], ExitCode.badInput, /results version 9, which this resid-norms does not know; supported: 2 \(and 1\)/);
    await expectFailure([join(folder, 'other.json')], ExitCode.badInput, /is not a resid-norms results file/);
    await expectFailure([join(folder, 'missing.json')], ExitCode.badInput, /cannot read results file .*no such file/);
    await expectFailure([join(folder, 'zero.json'), '--hook', 'attn_out'], ExitCode.badInput, /attn_out centered mean is not positive at layer 0 \(value 0\)/);
  });
});
