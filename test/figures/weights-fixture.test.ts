/**
 * The committed weights fixture (test/figures/fixtures/tiny-gpt2.weights.json) is what
 * `resid-norms weights` writes for the growing tiny GPT-2 of test/support/growing-tiny-gpt2.ts,
 * with runtime.seconds set to 0 so that it does not change when regenerated. Regenerate with
 *   npm run build && UPDATE_GOLDEN=1 node scripts/run-tests.mjs weights-fixture
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { analyzeWeights } from '../../src/commands/weights.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import type { WeightsFile } from '../../src/results/weights-schema.js';
import { ATTN_GROWTH, GROWING_DIMS, MLP_GROWTH, writeGrowingTinyGpt2 } from '../support/growing-tiny-gpt2.js';
import { TINY_WEIGHTS_PATH, readTinyMeasurement } from './plot-fixtures.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

describe('the weights fixture of the figure tests', () => {
  let root: string;
  let fresh: WeightsFile;
  let freshText: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-weights-fixture-'));
    const outPath = join(root, 'tiny-gpt2.weights.json');
    await analyzeWeights({ model: await writeGrowingTinyGpt2(root), outPath, refresh: false }, createSilentReporter());
    freshText = (await readFile(outPath, 'utf8')).replace(/"seconds": [0-9.e+-]+/, '"seconds": 0');
    fresh = JSON.parse(freshText) as WeightsFile;
    if (UPDATE) await writeFile(TINY_WEIGHTS_PATH, freshText);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('is what the weights command computes now (but the tool version)', async () => {
    const committed = await readWeightsFile(TINY_WEIGHTS_PATH);
    const { createdBy: _committedBy, ...committedRest } = committed;
    const { createdBy: _freshBy, ...freshRest } = fresh;
    assert.deepEqual(freshRest, JSON.parse(JSON.stringify(committedRest)), 'regenerate the fixture (see the header of this test)');
  });

  it('has the shape of the tiny results fixture and the growth built into the model', async () => {
    const committed = await readWeightsFile(TINY_WEIGHTS_PATH);
    const measurement = await readTinyMeasurement();
    for (const key of ['id', 'architecture', 'nLayers', 'dModel', 'nHeads'] as const) assert.equal(committed.model[key], measurement.model[key], key);
    assert.equal(committed.layers.length, GROWING_DIMS.nLayers);
    // Random weights differ a little between layers; over five layers the built-in growth dominates.
    const meanRatio = (series: 'W_O' | 'W_out') => (committed.layers[5]!.processed[series] / committed.layers[0]!.processed[series]) ** (1 / 5);
    assert.ok(Math.abs(meanRatio('W_O') / ATTN_GROWTH - 1) < 0.02, `W_O grows ×${meanRatio('W_O')} per layer`);
    assert.ok(Math.abs(meanRatio('W_out') / MLP_GROWTH - 1) < 0.02, `W_out grows ×${meanRatio('W_out')} per layer`);
  });
});
