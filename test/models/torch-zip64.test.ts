/**
 * A checkpoint of a Pythia-12b shard's size (a storage of more than 4 GB, records past 4 GB:
 * zip64 sizes and offsets) as a sparse file, so only its headers take disk: every offset is
 * exact past 2^32, the tensor after the big one is read from its place, and nothing of the big
 * storage is read to index it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTorchCheckpoint } from '../../src/models/torch/torch-checkpoint.js';
import { readTensorValues } from '../../src/models/weight-index.js';
import { writeSparseTorchZip, type TorchStorage } from '../support/torch-checkpoint-writer.js';

describe('a zip64 checkpoint of more than 4 GB', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-torch-zip64-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('indexes a 5 GB storage and the tensors after it at their exact offsets', async (t) => {
    const path = join(dir, 'pytorch_model-00001-of-00003.bin');
    const numel = 2 ** 31 + 2 ** 29; // F16: 5 GB
    const big: TorchStorage = { dtype: 'F16', numel };
    const small: TorchStorage = { dtype: 'F32', values: [1.5, -2, 0.25, 3] };
    try {
      await writeSparseTorchZip(
        path,
        [
          { name: 'gpt_neox.embed_in.weight', storage: big, shape: [numel / 5120, 5120] },
          { name: 'gpt_neox.layers.0.input_layernorm.weight', storage: small, shape: [4] },
        ],
        { prefix: 'pytorch_model-00001-of-00003' },
      );
    } catch (error) {
      t.skip(`this file system cannot hold a sparse 5 GB file (${(error as Error).message})`);
      return;
    }
    const { size, blocks } = await stat(path);
    assert.ok(size > 5 * 2 ** 30 && blocks * 512 < 1e6, `sparse: ${size} bytes, ${blocks * 512} on disk`);
    const checkpoint = await readTorchCheckpoint(path);
    const embedding = checkpoint.tensors.get('gpt_neox.embed_in.weight')!;
    const gain = checkpoint.tensors.get('gpt_neox.layers.0.input_layernorm.weight')!;
    assert.equal(embedding.byteLength, numel * 2);
    assert.equal(embedding.byteOffset % 64, 0);
    assert.ok(gain.byteOffset > 2 ** 32 && gain.byteOffset > embedding.byteOffset + embedding.byteLength, `offset ${gain.byteOffset}`);
    assert.deepEqual(Array.from(await readTensorValues(gain)), [1.5, -2, 0.25, 3]);
  });
});
