import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { analyzeWeights } from '../../src/commands/weights.js';
import { formatWeightsTable } from '../../src/text-tables/weights-table.js';
import { ModelError, NumericalError } from '../../src/errors.js';
import { readBlockValues } from '../../src/weights/block-values.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import { assertMatchesReference } from '../support/weight-assertions.js';
import { writeTinyGpt2, type TinyGpt2Options } from '../support/tiny-gpt2.js';
import { gpt2ReferenceBlock, processBlock, referenceNorms } from '../support/weight-reference.js';

describe('weights on tiny GPT-2 models, against direct computation from their stored values', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-weights-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const dims = { nLayers: 3, dModel: 16, nHeads: 4, nCtx: 16 };
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`matches the reference on every layer with ${dtype} weights`, async () => {
      const options: TinyGpt2Options = { ...dims, dtype, seed: 31 };
      const tiny = await writeTinyGpt2(join(dir, `tiny-${dtype}`), options);
      const outPath = join(dir, `tiny-${dtype}.weights.json`);
      const outcome = await analyzeWeights({ model: tiny.dir, outPath, refresh: false }, createSilentReporter());
      assert.equal(outcome.outPath, outPath);
      const file = await readWeightsFile(outPath);
      assert.deepEqual(file, JSON.parse(JSON.stringify(outcome.weights)), 'the file holds what the command returned');
      assert.equal(file.model.dtype, dtype);
      assert.equal(file.model.id, `tiny-${dtype}`);
      assert.equal(file.model.revision, null);
      assert.equal(file.options.primaryVariant, 'processed');
      assert.equal(file.layers.length, dims.nLayers);
      for (const layer of file.layers) {
        const block = gpt2ReferenceBlock(tiny.weights, layer.layer, dims.dModel, dims.nHeads);
        assertMatchesReference(layer, 'raw', referenceNorms(block, true), `layer ${layer.layer}`);
        assertMatchesReference(layer, 'processed', referenceNorms(processBlock(block), true), `layer ${layer.layer}`);
      }
      // 4 bytes per F32 value, 2 per F16/BF16: every block tensor read once, nothing else.
      const perLayer = 2 * 2 * 16 + (16 * 48 + 48) + (16 * 16 + 16) + (16 * 64 + 64) + (64 * 16 + 16);
      assert.equal(file.runtime.bytesRead, dims.nLayers * perLayer * (dtype === 'F32' ? 4 : 2));
    });
  }

  it('prints one table row per layer with the processed writing weights and the raw gains', async () => {
    const tiny = await writeTinyGpt2(join(dir, 'table'), { ...dims, seed: 2 });
    const { weights } = await analyzeWeights({ model: tiny.dir, outPath: join(dir, 'table.json'), refresh: false }, createSilentReporter());
    const lines = formatWeightsTable(weights).trimEnd().split('\n');
    assert.equal(lines.length, 2 + dims.nLayers);
    assert.match(lines[0]!, /^processed weights/);
    assert.deepEqual(lines[1]!.trim().split(/\s+/), ['layer', 'W_OV', 'b_O', 'W_in', 'W_out', 'b_out', 'W_inW_out', 'b_inW_out', 'ln1.w', 'ln2.w']);
    const cells = lines[3]!.trim().split(/\s+/);
    const layer = weights.layers[1]!;
    assert.equal(cells[0], '1');
    assert.equal(cells[1], layer.processed.W_OV.toPrecision(5));
    assert.equal(cells[6], layer.processed.W_inW_out!.toPrecision(5));
    assert.equal(cells[8], layer.raw['ln1.w']!.toPrecision(5));
  });

  it('refuses weights that overflowed to infinity, naming the tensor', async () => {
    const tiny = await writeTinyGpt2(join(dir, 'overflow'), { ...dims, dtype: 'F16', scale: 1e6 });
    await assert.rejects(
      analyzeWeights({ model: tiny.dir, outPath: join(dir, 'overflow.json'), refresh: false }, createSilentReporter()),
      (error: Error) =>
        error instanceof NumericalError &&
        /tensor "transformer\.h\.0\.attn\.c_attn\.weight" .* holds -?Infinity at index \d+; weights must be finite .*overflowed F16/.test(error.message),
    );
  });

  it('says which tensor could not be read when the file changed after its header was read', async () => {
    const tiny = await writeTinyGpt2(join(dir, 'vanishing'), dims);
    const { spec } = await loadModel(tiny.dir);
    const file = join(tiny.dir, 'model.safetensors');
    await truncate(file, 4000);
    await assert.rejects(
      readBlockValues(spec.blocks[2]!),
      (error: Error) => error instanceof ModelError && /could not read tensor "transformer\.h\.2\.ln_1\.weight" from .*: file is truncated/.test(error.message),
    );
    await rm(file);
    await assert.rejects(
      readBlockValues(spec.blocks[0]!),
      (error: Error) =>
        error instanceof ModelError && /could not read tensor "transformer\.h\.0\.ln_1\.weight" from .*model\.safetensors": ENOENT$/.test(error.message),
    );
  });
});
