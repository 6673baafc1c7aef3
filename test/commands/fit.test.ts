import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { checkExpectation, runFit, type FitCommandOptions } from '../../src/commands/fit.js';
import { ExpectationError } from '../../src/errors.js';
import { FitFileSchema, type FitEntry } from '../../src/results/fit-schema.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

let folder: string;
let deep: string;
let shallow: string;

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'resid-norms-fit-'));
  deep = join(folder, 'deep.json');
  shallow = join(folder, 'shallow.json');
  await writeFile(deep, JSON.stringify(syntheticMeasurement({ nLayers: 16, sequences: 6, phases: [{ fromLayer: 0, growth: 1.05 }], modelId: 'test/deep' })));
  await writeFile(
    shallow,
    JSON.stringify(syntheticMeasurement({ nLayers: 8, sequences: 1, phases: [{ fromLayer: 0, growth: 1.1 }], modelId: 'test/shallow' })),
  );
});
after(async () => rm(folder, { recursive: true, force: true }));

function options(overrides: Partial<FitCommandOptions>): FitCommandOptions {
  return { files: [deep], hooks: ['resid_pre'], layers: {}, stat: 'mean', bootstrap: 100, seed: 1, minSegment: 4, maxSegments: 5, json: false, ...overrides };
}

async function run(overrides: Partial<FitCommandOptions>) {
  const reporter = createSilentReporter();
  let stdout = '';
  const document = await runFit(options(overrides), { reporter, write: (text) => void (stdout += text) });
  return { document, stdout, reporter };
}

describe('runFit', () => {
  it('fits every file and hook, one row each, and prints the wide table with a legend (--wide)', async () => {
    const { document, stdout } = await run({ files: [deep, shallow], hooks: ['resid_pre', 'mlp_out'], wide: true });
    assert.deepEqual(
      document.fits.map((fit) => [fit.source, fit.hook]),
      [
        [deep, 'resid_pre'],
        [deep, 'mlp_out'],
        [shallow, 'resid_pre'],
        [shallow, 'mlp_out'],
      ],
    );
    const lines = stdout.split('\n');
    assert.match(
      lines[0]!,
      /^source\s+model\s+hook\s+metric\s+stat\s+layers\s+method\s+growth\s+95% CI bootstrap\s+95% CI regression\s+OLS\s+endpoints\s+R²\s+one exp\.\s+phases$/,
    );
    const deepRow = lines.find((line) => line.includes('test/deep') && line.includes('resid_pre'))!;
    const fit = document.fits[0]!;
    const cells = deepRow.split(/\s{2,}/);
    const interval = (estimate: { ciLow: number; ciHigh: number }) => `${estimate.ciLow.toFixed(4)}–${estimate.ciHigh.toFixed(4)}`;
    assert.deepEqual(cells.slice(5, 14), [
      '0:15',
      'ols',
      fit.growth.toFixed(4),
      interval(fit.bootstrap!),
      interval(fit.regression),
      `${fit.methods!.ols.growth.toFixed(4)} (${interval(fit.methods!.ols)})`,
      `${fit.methods!.endpoints.growth.toFixed(4)} (${interval(fit.methods!.endpoints)})`,
      fit.r2.toFixed(4),
      fit.shape!.oneExponential ? 'yes' : 'NO',
    ]);
    assert.match(lines.find((line) => line.includes('test/shallow'))!, /0:7\s+ols\s+1\.\d{4}\s+—\s+1\.\d{4}–1\.\d{4}/);
    assert.match(stdout, /CI bootstrap: percentile interval over 100 resamples of the prompts \(seed 1\)/);
    assert.match(stdout, /CI regression \(OLS only\): t interval treating layers as independent/);
  });

  it("--like-reference fits the reference's way: resid_post, its relative range, endpoints of the mean centered norm", async () => {
    const { document } = await run({ files: [deep], likeReference: true, hooks: ['resid_pre', 'mlp_out'] });
    assert.equal(document.fits.length, 1);
    const fit = document.fits[0]!;
    assert.deepEqual([fit.hook, fit.fromLayer, fit.toLayer, fit.method, fit.stat, fit.metric], ['resid_post', 2, 14, 'endpoints', 'mean', 'centered']);
    assert.ok(Math.abs(fit.growth - (fit.values.at(-1)! / fit.values[0]!) ** (1 / 12)) < 1e-12);
  });

  it('prints a note under the table for every range that is not one exponential', async () => {
    const twoRegimes = join(folder, 'two-regimes.json');
    await writeFile(
      twoRegimes,
      JSON.stringify(
        syntheticMeasurement({
          nLayers: 24,
          sequences: 20,
          phases: [
            { fromLayer: 0, growth: 1.08 },
            { fromLayer: 12, growth: 1.03 },
          ],
          seed: 5,
        }),
      ),
    );
    const { document, stdout } = await run({ files: [twoRegimes, deep], wide: true });
    assert.deepEqual(
      document.fits.map((fit) => fit.shape!.oneExponential),
      [false, true],
    );
    const notes = stdout.split('\n').filter((line) => line.startsWith('note: '));
    assert.equal(notes.length, 1);
    assert.match(
      notes[0]!,
      /two-regimes\.json resid_pre layers 0–23 is not one exponential: .*2 phases with different rates .*Then quote the phases \(0–1[0-2] ×1\.0\d{3} \| 1[0-2]–23 ×1\.0\d{3}\)/,
    );
  });

  it('prints a table of 100 columns by default: the headline growth, its interval, R², the shape with the phases to quote, a short legend', async () => {
    const twoRegimes = join(folder, 'two-regimes.json');
    await writeFile(
      twoRegimes,
      JSON.stringify(
        syntheticMeasurement({
          nLayers: 24,
          sequences: 20,
          phases: [
            { fromLayer: 0, growth: 1.08 },
            { fromLayer: 12, growth: 1.03 },
          ],
          seed: 5,
        }),
      ),
    );
    const { document, stdout } = await run({ files: [twoRegimes, deep, shallow], hooks: ['resid_pre', 'mlp_out'] });
    const lines = stdout.trimEnd().split('\n');
    for (const line of lines) assert.ok([...line].length <= 100, `${[...line].length} columns: ${line}`);
    assert.match(lines[0]!, /^file\s+hook\s+layers\s+growth\s+95% CI\s+R²\s+shape$/, 'metric, stat and method, the same in every row, are said in the legend');
    const [first] = document.fits;
    const row = lines[1]!.split(/\s{2,}/);
    assert.deepEqual(row.slice(0, 6), [
      'two-regimes.json',
      'resid_pre',
      '0:23',
      `×${first!.growth.toFixed(4)}`,
      `${first!.ciLow.toFixed(4)}–${first!.ciHigh.toFixed(4)}`,
      first!.r2.toFixed(4),
    ]);
    assert.match(row[6]!, /^NO: 0–1[0-2] ×1\.0\d{3} \| 1[0-2]–23 ×/, 'NO, and the phases to quote (the last cut to keep 100 columns)');
    assert.match(lines.find((line) => line.startsWith('deep.json'))!, /\bone exp\.$/);
    assert.match(
      lines.find((line) => line.startsWith('shallow.json'))!,
      /1\.\d{4}–1\.\d{4} \(r\)/,
      'a regression interval is marked where the others are bootstrapped',
    );
    const legend = lines.slice(lines.indexOf('') + 1);
    assert.ok(legend.length <= 4, `the legend is short: ${legend.length} lines`);
    assert.match(legend.join(' '), /95% CI: bootstrap over prompts \(100 resamples, seed 1\); \(r\): regression/);
    assert.equal(stdout.includes('note:'), false, 'the table says it all');
  });

  it('cuts the file and the phases, never the numbers, to keep the table within 100 columns', async () => {
    const long = join(folder, `${'a-very-long-folder-name/'.repeat(3)}`);
    await import('node:fs/promises').then(({ mkdir }) => mkdir(long, { recursive: true }));
    const many = join(long, 'five-phases.json');
    await writeFile(
      many,
      JSON.stringify(
        syntheticMeasurement({
          nLayers: 48,
          sequences: 8,
          phases: [0, 10, 20, 30, 40].map((fromLayer, i) => ({ fromLayer, growth: 1.02 + 0.03 * (i % 2) })),
          seed: 3,
        }),
      ),
    );
    const { stdout } = await run({ files: [many], segments: 5 });
    const lines = stdout.trimEnd().split('\n');
    for (const line of lines) assert.ok([...line].length <= 100, `${[...line].length} columns: ${line}`);
    assert.match(lines[1]!, /^five-phases\.json\s+resid_pre\s+0:47\s+×1\.\d{4}\s+\d\.\d{4}–\d\.\d{4}\s+\d\.\d{4}\s+NO: 0–\d+ ×.*…$/);
  });

  it('warns once per file when a file has a single prompt and so no bootstrap', async () => {
    const { reporter } = await run({ files: [shallow], hooks: ['resid_pre', 'mlp_out'] });
    assert.equal(reporter.warnings.length, 1);
    assert.match(reporter.warnings[0]!, /shallow\.json: 1 prompt with tokens, so no bootstrap/);
  });

  it('prints the fit document with --json and writes the same to --out', async () => {
    const out = join(folder, 'sub', 'fit.json');
    const { stdout, reporter } = await run({ json: true, out, layers: { from: 2 } });
    const printed = FitFileSchema.parse(JSON.parse(stdout));
    assert.equal(printed.format, 'resid-norms/fit');
    assert.equal(printed.version, 1);
    const fit = printed.fits[0]!;
    for (const key of ['model', 'hook', 'metric', 'fromLayer', 'toLayer', 'growth', 'ciLow', 'ciHigh', 'r2', 'phases'] as const) {
      assert.ok(key in fit, key);
    }
    assert.deepEqual([fit.fromLayer, fit.toLayer], [2, 15]);
    assert.equal(await readFile(out, 'utf8'), stdout);
    assert.deepEqual(
      (await readdir(join(folder, 'sub'))).filter((name) => name.endsWith('.tmp')),
      [],
    );
    assert.match(reporter.messages.join('\n'), /wrote 1 fit to .*fit\.json/);
  });

  it('resolves open layer ranges per model', async () => {
    const { document } = await run({ files: [deep, shallow], layers: { to: 6 } });
    assert.deepEqual(
      document.fits.map((fit) => [fit.fromLayer, fit.toLayer]),
      [
        [0, 6],
        [0, 6],
      ],
    );
    const { document: tail } = await run({ files: [deep, shallow], layers: { from: 4 } });
    assert.deepEqual(
      tail.fits.map((fit) => [fit.fromLayer, fit.toLayer]),
      [
        [4, 15],
        [4, 7],
      ],
    );
  });

  it('passes the gate when every growth is inside --expect and fails it after printing otherwise', async () => {
    await run({ files: [deep], expect: { low: 1.0, high: 1.2 } });
    let stdout = '';
    await assert.rejects(
      runFit(options({ files: [deep, shallow], expect: { low: 1.03, high: 1.07 } }), {
        reporter: createSilentReporter(),
        write: (text) => void (stdout += text),
      }),
      (error: unknown) => {
        assert.ok(error instanceof ExpectationError);
        assert.equal(error.exitCode, 1);
        assert.match(
          error.message,
          /^growth outside --expect 1\.03\.\.1\.07 in 1 of 2 fits: .*shallow\.json resid_pre layers 0:7: growth 1\.\d{4} \(95% CI 1\.\d{4}–1\.\d{4}, regression\)$/,
        );
        return true;
      },
    );
    assert.match(stdout, /^shallow\.json /m, 'the table is printed before the gate fails');
  });
});

describe('checkExpectation', () => {
  const fit = (growth: number): FitEntry =>
    ({
      source: 'f.json',
      hook: 'resid_post',
      fromLayer: 0,
      toLayer: 9,
      growth,
      ciLow: growth - 0.01,
      ciHigh: growth + 0.01,
      ciMethod: 'bootstrap',
    }) as FitEntry;

  it('accepts the bounds themselves and open ends', () => {
    checkExpectation([fit(1.03), fit(1.06)], { low: 1.03, high: 1.06 });
    checkExpectation([fit(5)], { low: 1.03 });
    checkExpectation([fit(0.5)], { high: 1.06 });
  });

  it('names every fit outside the range, with open ends shown', () => {
    assert.throws(
      () => checkExpectation([fit(1.02), fit(1.04), fit(1.07)], { low: 1.03, high: 1.06 }),
      /in 2 of 3 fits: f\.json resid_post layers 0:9: growth 1\.0200 .*; f\.json .*growth 1\.0700/,
    );
    assert.throws(() => checkExpectation([fit(1.02)], { low: 1.03 }), /--expect 1\.03\.\. /);
  });
});
