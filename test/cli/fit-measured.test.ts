import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FitFileSchema } from '../../src/results/fit-schema.js';
import { MeasurementSchema } from '../../src/results/schema.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

describe('resid-norms fit on a file written by measure', () => {
  let folder: string;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'resid-norms-fit-measured-'));
    await writeTinyGpt2(join(folder, 'model'), { nLayers: 6, dModel: 32 });
    await writeFile(join(folder, 'prompts.txt'), 'The quick brown fox jumps.\nHello world, a test.\nA third prompt for norms.\n');
  });
  after(async () => rm(folder, { recursive: true, force: true }));

  it('fits the summary means that measure wrote', async () => {
    const results = join(folder, 'results.json');
    const measured = await runCli(['-q', 'measure', '-m', join(folder, 'model'), '-p', join(folder, 'prompts.txt'), '-o', results]);
    assert.equal(measured.code, 0, measured.stderr);
    const fitted = await runCli(['fit', results, '--hook', 'resid_post', '--layers', '1:', '--bootstrap', '100', '--json']);
    assert.equal(fitted.code, 0, fitted.stderr);
    const fit = FitFileSchema.parse(JSON.parse(fitted.stdout)).fits[0]!;
    const measurement = MeasurementSchema.parse(JSON.parse(await readFile(results, 'utf8')));
    const means = measurement.summary.resid_post!.slice(1).map((row) => row.mean);
    assert.equal(fit.values.length, means.length);
    fit.values.forEach((value, i) => assert.ok(Math.abs(value / means[i]! - 1) < 1e-12, `layer ${i + 1}: ${value} vs ${means[i]}`));
    assert.deepEqual([fit.model, fit.metric, fit.sequences, fit.fromLayer, fit.toLayer], ['model', measurement.options.primaryMetric, 3, 1, 5]);
    assert.equal(fit.ciMethod, 'bootstrap');
  });
});
