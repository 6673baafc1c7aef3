import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { readFit } from '../../src/results/read-fit.js';
import { createRandom } from '../support/random.js';
import { runCli } from '../support/run-cli.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { syntheticWeights } from '../support/synthetic-weights.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

describe('resid-norms fit on weights files', () => {
  let folder: string;
  let weights: string;
  let measurement: string;
  const random = createRandom(9);
  const noise = Array.from({ length: 12 }, () => Math.exp(0.01 * random.normal()));

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'rn-fit-weights-'));
    weights = join(folder, 'w.weights.json');
    const file = syntheticWeights({
      nLayers: 12,
      values: { processed: { W_OV: (l) => 3 * 1.05 ** l * noise[l]!, W_out: (l) => 10 * 1.02 ** l * noise[11 - l]! } },
    });
    await writeFile(weights, JSON.stringify(file));
    measurement = join(folder, 'm.json');
    await writeFile(
      measurement,
      JSON.stringify(syntheticMeasurement({ nLayers: 12, sequences: 4, hooks: ['resid_pre'], phases: [{ fromLayer: 0, growth: 1.05 }] })),
    );
  });
  after(async () => rm(folder, { recursive: true, force: true }));

  it('fits W_OV and W_out by default, prints their table and writes them to the fit file', async () => {
    const out = join(folder, 'fits.json');
    const run = await runCli(['fit', weights, '--out', out, '--wide']);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.match(lines[0]!, /^source +model +series +variant +layers +growth +95% CI regression +R² +phases$/);
    assert.match(lines[1]!, /w\.weights\.json +synthetic +W_OV +processed +0:11 +1\.0[45]\d\d /);
    assert.match(lines[2]!, /W_out +processed +0:11 +1\.02\d\d /);
    assert.match(run.stdout, /weight series: growth factor per layer/);
    assert.doesNotMatch(run.stdout, /CI bootstrap/, 'no activation table when only weights files are given');
    const fits = await readFit(out);
    assert.deepEqual(fits.fits, []);
    assert.deepEqual(
      fits.weightFits!.map((fit) => [fit.series, fit.variant, fit.source]),
      [
        ['W_OV', 'processed', weights],
        ['W_out', 'processed', weights],
      ],
    );
  });

  it('fits chosen series and variant with the shared flags, next to activation fits', async () => {
    const run = await runCli([
      'fit',
      measurement,
      weights,
      '--series',
      'ln1.w',
      '--series',
      'b_out',
      '--variant',
      'raw',
      '--layers',
      '2:9',
      '--bootstrap',
      '50',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const document = JSON.parse(run.stdout) as {
      fits: Array<{ hook: string }>;
      weightFits: Array<{ series: string; variant: string; fromLayer: number; toLayer: number }>;
    };
    assert.deepEqual(
      document.fits.map((fit) => fit.hook),
      ['resid_pre'],
    );
    assert.deepEqual(
      document.weightFits.map((fit) => [fit.series, fit.variant, fit.fromLayer, fit.toLayer]),
      [
        ['ln1.w', 'raw', 2, 9],
        ['b_out', 'raw', 2, 9],
      ],
    );
    const table = await runCli(['fit', measurement, weights, '--bootstrap', '50']);
    assert.match(table.stdout, /^file +hook .*\n.*resid_pre[\s\S]*\n\nfile +series [\s\S]*W_OV[\s\S]*W_out/);
    for (const line of table.stdout.split('\n')) assert.ok([...line].length <= 100, line);
  });

  it('gates weight growth with --expect', async () => {
    const run = await runCli(['fit', weights, '--series', 'W_OV', '--expect', '1.01..1.03']);
    assert.equal(run.code, ExitCode.expectationFailed);
    assert.match(run.stderr, /growth outside --expect 1\.01\.\.1\.03 in 1 of 1 fits: .*w\.weights\.json processed W_OV layers 0:11: growth 1\.0[45]\d\d/);
  });

  const failures: Array<{ name: string; args: () => string[]; code: number; message: RegExp }> = [
    {
      name: 'an unknown series',
      args: () => [weights, '--series', 'W_OVV'],
      code: ExitCode.usage,
      message: /unknown weight series "W_OVV"; valid: W_Q, W_K, W_V, W_O, W_OV, b_O/,
    },
    {
      name: 'an unknown variant',
      args: () => [weights, '--variant', 'folded'],
      code: ExitCode.usage,
      message: /'folded' is invalid\. Allowed choices are raw, processed/,
    },
    {
      name: '--series without a weights file',
      args: () => [measurement, '--series', 'W_OV'],
      code: ExitCode.usage,
      message: /--series and --variant apply to weights files .* none was given; for results of `measure`, use --hook/,
    },
    {
      name: 'a norm parameter of processed weights',
      args: () => [weights, '--series', 'ln2.w'],
      code: ExitCode.usage,
      message: /ln2\.w is folded into the weights that read the norm in processed weights; use --variant raw/,
    },
    {
      name: 'a file of neither kind',
      args: () => [join(folder, 'other.json')],
      code: ExitCode.badInput,
      message:
        /is not a resid-norms results file \(no "format" field; expected format "resid-norms\/measurement", "resid-norms\/weights" or "resid-norms\/mechanisms"\)/,
    },
  ];
  for (const failure of failures) {
    it(`refuses ${failure.name} in one line`, async () => {
      await writeFile(join(folder, 'other.json'), '{"hello": 1}');
      const run = await runCli(['fit', ...failure.args()]);
      assert.equal(run.code, failure.code, run.stderr);
      assert.match(run.stderr, failure.message);
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
      assert.equal(run.stdout, '');
    });
  }

  it('fits what `weights` wrote for a model', async () => {
    const tiny = await writeTinyGpt2(join(folder, 'tiny'), { nLayers: 4, dModel: 8, nHeads: 2, nCtx: 8 });
    const out = join(folder, 'tiny.weights.json');
    assert.equal((await runCli(['weights', '--model', tiny.dir, '--out', out])).code, 0);
    const run = await runCli(['fit', out, '--series', 'W_OV,b_O,W_in,W_out,b_out', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const written = JSON.parse(await readFile(out, 'utf8')) as { layers: Array<{ processed: Record<string, number> }> };
    const document = JSON.parse(run.stdout) as { weightFits: Array<{ series: string; values: number[] }> };
    for (const fit of document.weightFits)
      assert.deepEqual(
        fit.values,
        written.layers.map((layer) => layer.processed[fit.series]),
        fit.series,
      );
  });
});
