import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseFitFlags, parseGrowthRange, parseHooks, parseLayerRange } from '../../src/cli/fit-command.js';
import { ProblemList, UsageError } from '../../src/errors.js';
import { FitFileSchema } from '../../src/results/fit-schema.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

function parsed<T>(parse: (problems: ProblemList) => T): { value: T; problems: number } {
  const problems = new ProblemList();
  const value = parse(problems);
  return { value, problems: problems.count };
}

describe('fit flag parsing', () => {
  it('reads inclusive layer ranges with open ends', () => {
    assert.deepEqual(parsed((p) => parseLayerRange('5:41', p)), { value: { from: 5, to: 41 }, problems: 0 });
    assert.deepEqual(parsed((p) => parseLayerRange('5:', p)), { value: { from: 5 }, problems: 0 });
    assert.deepEqual(parsed((p) => parseLayerRange(':20', p)), { value: { to: 20 }, problems: 0 });
    assert.deepEqual(parsed((p) => parseLayerRange(':', p)), { value: {}, problems: 0 });
    for (const bad of ['5-41', '5', 'a:b', '-3:', '5:41:2', '7:3', '1.5:4']) {
      assert.equal(parsed((p) => parseLayerRange(bad, p)).problems, 1, bad);
    }
  });

  it('reads growth ranges with open ends', () => {
    assert.deepEqual(parsed((p) => parseGrowthRange('1.03..1.06', p)), { value: { low: 1.03, high: 1.06 }, problems: 0 });
    assert.deepEqual(parsed((p) => parseGrowthRange('1.03..', p)), { value: { low: 1.03 }, problems: 0 });
    assert.deepEqual(parsed((p) => parseGrowthRange('..1.06', p)), { value: { high: 1.06 }, problems: 0 });
    for (const bad of ['1.03-1.06', '1.03', '..', '1.06..1.03', 'a..b', '0..1.1', '1.03...1.06']) {
      assert.equal(parsed((p) => parseGrowthRange(bad, p)).problems, 1, bad);
    }
  });

  it('reads hooks, comma-separated or repeated, short or TransformerLens names', () => {
    assert.deepEqual(parsed((p) => parseHooks([], p)).value, ['resid_pre']);
    assert.deepEqual(parsed((p) => parseHooks(['resid_post,attn_out', 'blocks.3.hook_mlp_out', 'resid_post'], p)).value, ['resid_post', 'attn_out', 'mlp_out']);
    assert.equal(parsed((p) => parseHooks(['resid', 'resid_pre'], p)).problems, 1);
  });

  it('collects every bad flag into one usage error', () => {
    const flags = { hook: ['nope'], layers: '1-2', stat: 'mean' as const, bootstrap: '-1', seed: '1', minSegment: '2', maxSegments: '5', expect: '1', json: false };
    assert.throws(() => parseFitFlags(['r.json'], flags), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /--hook "nope" is not a hook; valid: resid_pre, attn_out, resid_mid, mlp_out, resid_post; --layers "1-2" is not a layer range.*; --expect "1" is not a growth range.* \(and 2 more\)$/);
      return true;
    });
  });
});

describe('resid-norms fit (the installed command)', () => {
  let folder: string;
  let results: string;
  const bin = join(process.cwd(), 'bin', 'resid-norms.js');
  const cli = (...args: string[]) => {
    const run = spawnSync(process.execPath, [bin, 'fit', ...args], { encoding: 'utf8' });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };
  const expectFailure = (args: string[], code: number, pattern: RegExp): void => {
    const run = cli(...args);
    assert.equal(run.code, code, `exit code of fit ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, pattern);
    assert.equal(run.stderr.trimEnd().split('\n').length, 1, `one line: ${run.stderr}`);
    assert.equal(run.stdout, '');
  };

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'resid-norms-fit-cli-'));
    results = join(folder, 'r.json');
    await writeFile(results, JSON.stringify(syntheticMeasurement({ nLayers: 12, sequences: 5, hooks: ['resid_pre', 'resid_post'], phases: [{ fromLayer: 0, growth: 1.05 }] })));
    await writeFile(join(folder, 'v9.json'), JSON.stringify({ ...syntheticMeasurement({ nLayers: 3 }), version: 9 }));
    await writeFile(join(folder, 'other.json'), '{"hello": "world"}');
    const zero = syntheticMeasurement({ nLayers: 6, sequences: 2, hooks: ['attn_out'] });
    for (const sequence of zero.sequences) sequence.norms.attn_out![0] = sequence.norms.attn_out![0]!.map(() => 0);
    await writeFile(join(folder, 'zero.json'), JSON.stringify(zero));
  });
  after(async () => rm(folder, { recursive: true, force: true }));

  it('prints a table and exits 0', () => {
    const run = cli(results, '--hook', 'resid_post', '--layers', '2:', '--bootstrap', '200');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /r\.json\s+synthetic\/gpt2-like\s+resid_post\s+centered\s+mean\s+2:11\s+1\.0\d{3}\s/);
    assert.equal(run.stderr, '');
  });

  it('prints JSON that validates as a fit document', () => {
    const run = cli(results, '--json', '--stat', 'median', '--metric', 'raw', '--seed', '7', '--bootstrap', '50', '--segments', '2');
    assert.equal(run.code, 0, run.stderr);
    const document = FitFileSchema.parse(JSON.parse(run.stdout));
    const fit = document.fits[0]!;
    assert.deepEqual([fit.hook, fit.stat, fit.metric, fit.bootstrap?.seed, fit.bootstrap?.samples, fit.phases.length], ['resid_pre', 'median', 'raw', 7, 50, 2]);
  });

  it('exits 0 inside --expect and 1 outside, with a clear message', () => {
    assert.equal(cli(results, '--expect', '1.03..1.07', '--bootstrap', '50').code, 0);
    const run = cli(results, '--expect', '1.06..1.08', '--bootstrap', '50');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^resid-norms: growth outside --expect 1\.06\.\.1\.08 in 1 of 1 fits: .*r\.json resid_pre layers 0:11: growth 1\.0\d{3} \(95% CI /);
    assert.match(run.stdout, /^source/, 'the table is still printed');
  });

  it('exits 2 with one line for bad flags', () => {
    expectFailure([results, '--layers', '5-9'], 2, /--layers "5-9" is not a layer range; give A:B/);
    expectFailure([results, '--expect', '1.03:1.06'], 2, /--expect "1\.03:1\.06" is not a growth range; give LO\.\.HI/);
    expectFailure([results, '--stat', 'mode'], 2, /argument 'mode' is invalid.*mean, median/);
    expectFailure([results, '--layers', '5:12'], 2, /layers 5:12 are outside .*r\.json's layers; valid: 0:11 \(12 layers\)/);
    expectFailure([results, '--layers', '10:'], 2, /layers 10:11 give 2 layers; a growth fit needs at least 3/);
    expectFailure([results, '--hook', 'attn_out'], 2, /has no hook "attn_out"; hooks present: resid_pre, resid_post/);
  });

  it('exits 3 with one line for files that are not results files', () => {
    expectFailure([join(folder, 'v9.json')], 3, /results version 9, which this resid-norms does not know; supported: 1/);
    expectFailure([join(folder, 'other.json')], 3, /is not a resid-norms results file/);
    expectFailure([join(folder, 'missing.json')], 3, /cannot read results file .*no such file/);
    expectFailure([join(folder, 'zero.json'), '--hook', 'attn_out'], 3, /attn_out centered mean is not positive at layer 0 \(value 0\)/);
  });
});
