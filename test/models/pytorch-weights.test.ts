/**
 * The weights index over PyTorch checkpoints: the same tensors, values and byte ranges for a
 * caller as the safetensors of the same model, whichever layout (one file, shards + index,
 * zip or legacy); safetensors chosen when a folder has both; what is not read, said.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chooseWeights, isWeightFileName, noWeightsError } from '../../src/models/weight-formats.js';
import { listWeightFiles, readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { convertToPytorch, type PytorchLayout } from '../support/torch-model-folder.js';

describe('choosing the weight format', () => {
  it('prefers safetensors, an index over a single file, and reads PyTorch checkpoints otherwise', () => {
    assert.deepEqual(chooseWeights(['config.json', 'pytorch_model.bin', 'model.safetensors']), {
      format: 'safetensors',
      entry: 'model.safetensors',
      sharded: false,
    });
    assert.deepEqual(chooseWeights(['pytorch_model.bin.index.json', 'model.safetensors.index.json']), {
      format: 'safetensors',
      entry: 'model.safetensors.index.json',
      sharded: true,
    });
    assert.deepEqual(chooseWeights(['pytorch_model.bin', 'tf_model.h5']), { format: 'pytorch', entry: 'pytorch_model.bin', sharded: false });
    assert.deepEqual(chooseWeights(['pytorch_model-00001-of-00002.bin', 'pytorch_model.bin.index.json']), {
      format: 'pytorch',
      entry: 'pytorch_model.bin.index.json',
      sharded: true,
    });
    assert.equal(chooseWeights(['model.pt', 'flax_model.msgpack']), undefined);
  });

  it('names what a folder without readable weights has', () => {
    assert.match(
      noWeightsError('/m', ['config.json', 'consolidated.00.pth', 'tf_model.h5']).message,
      /"\/m" has no weights to read: expected model\.safetensors \(or model\.safetensors\.index\.json \+ shards\) or pytorch_model\.bin \(or pytorch_model\.bin\.index\.json \+ shards\); it has consolidated\.00\.pth, tf_model\.h5, which are not read/,
    );
    assert.equal(noWeightsError('/m', []).exitCode, 4);
  });

  it('knows the weight files sweep --evict may remove', () => {
    for (const name of [
      'model.safetensors',
      'model-00001-of-00002.safetensors',
      'model.safetensors.index.json',
      'pytorch_model.bin',
      'pytorch_model-00002-of-00003.bin',
      'pytorch_model.bin.index.json',
    ])
      assert.ok(isWeightFileName(name), name);
    for (const name of ['config.json', 'tokenizer.json', 'training_args.bin', 'vocab.json']) assert.ok(!isWeightFileName(name), name);
  });
});

describe('the weights index over PyTorch checkpoints', () => {
  let root: string;
  let reference: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-pytorch-weights-'));
    reference = (await writeTinyGpt2(join(root, 'safetensors'), { nLayers: 2, dModel: 16, nHeads: 2, keys: 'lm-head-model', seed: 5 })).dir;
  });
  after(() => rm(root, { recursive: true, force: true }));

  const layouts: Array<[string, PytorchLayout, string[]]> = [
    ['one zip file', {}, ['pytorch_model.bin']],
    ['one legacy file', { format: 'legacy' }, ['pytorch_model.bin']],
    [
      'three zip shards and an index',
      { shards: 3 },
      ['pytorch_model-00001-of-00003.bin', 'pytorch_model-00002-of-00003.bin', 'pytorch_model-00003-of-00003.bin'],
    ],
    [
      'two legacy shards with a transposed view',
      { format: 'legacy', shards: 2, transposed: ['transformer.h.0.attn.c_attn.weight'] },
      ['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin'],
    ],
  ];
  let counter = 0;
  for (const [name, layout, files] of layouts) {
    it(`${name}: the same tensors and values as the safetensors`, async () => {
      const dir = join(root, `bin-${(counter += 1)}`);
      await cp(reference, dir, { recursive: true });
      await convertToPytorch(dir, layout);
      assert.deepEqual(
        (await readdir(dir)).filter((file) => file.endsWith('.safetensors')),
        [],
      );
      assert.deepEqual(
        await listWeightFiles(dir),
        files.map((file) => join(dir, file)),
      );
      const [expected, actual] = [await readWeightIndex(reference), await readWeightIndex(dir)];
      assert.equal(actual.format, 'pytorch');
      assert.deepEqual([...actual.tensors.keys()].sort(), [...expected.tensors.keys()].sort());
      assert.equal(actual.dtype, expected.dtype);
      assert.equal(actual.totalBytes, expected.totalBytes);
      for (const [tensorName, info] of expected.tensors) {
        const other = actual.tensors.get(tensorName)!;
        assert.deepEqual([other.dtype, other.shape], [info.dtype, info.shape], tensorName);
        if (['F32', 'F16', 'BF16'].includes(info.dtype)) assert.deepEqual(await readTensorValues(other), await readTensorValues(info), tensorName);
        const copied = layout.transposed?.includes(tensorName) ?? false;
        assert.equal(other.data !== undefined, copied, `${tensorName}: ${copied ? 'copied' : 'referenced in place'}`);
      }
      assert.equal(actual.copiedBytes, layout.transposed ? 16 * 48 * 4 : 0);
    });
  }

  it('tied tensors share bytes and count once', async () => {
    const dir = join(root, 'tied');
    await cp(reference, dir, { recursive: true });
    await convertToPytorch(dir, { tied: [['lm_head.weight', 'transformer.wte.weight']] });
    const index = await readWeightIndex(dir);
    const [head, wte] = [index.tensors.get('lm_head.weight')!, index.tensors.get('transformer.wte.weight')!];
    assert.deepEqual([head.file, head.byteOffset, head.byteLength], [wte.file, wte.byteOffset, wte.byteLength]);
    assert.equal(index.totalBytes, (await readWeightIndex(reference)).totalBytes);
  });

  it('a folder with both formats is read from its safetensors', async () => {
    const dir = join(root, 'both');
    await cp(reference, dir, { recursive: true });
    await convertToPytorch(dir, { keepSafetensors: true });
    assert.deepEqual(await listWeightFiles(dir), [join(dir, 'model.safetensors')]);
    assert.equal((await readWeightIndex(dir)).format, 'safetensors');
  });

  it('an index of .bin shards may name only plain .bin files in the folder', async () => {
    for (const shard of ['../outside.bin', '/etc/passwd', 'sub/pytorch_model.bin', 'model.safetensors']) {
      const dir = join(root, `bad-shard-${(counter += 1)}`);
      await mkdir(dir);
      await writeFile(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { x: shard } }));
      await assert.rejects(listWeightFiles(dir), /shard names must be plain \*\.bin file names inside the model folder/, shard);
    }
  });

  it('a folder with only other checkpoints says what it has', async () => {
    const dir = join(root, 'other');
    await mkdir(dir);
    await writeFile(join(dir, 'model.pt'), 'x');
    await assert.rejects(listWeightFiles(dir), /has no weights to read: .* it has model\.pt, which are not read/);
  });
});
