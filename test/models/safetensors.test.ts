import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../../src/errors.js';
import { readSafetensorsHeader } from '../../src/models/safetensors.js';
import { listWeightFiles, readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { encodeSafetensors, floatToBfloat16Bits, floatToHalfBits } from '../support/safetensors-writer.js';

function rawFile(header: unknown, dataBytes: number, declaredLength?: bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(declaredLength ?? BigInt(text.length));
  return Buffer.concat([length, text, Buffer.alloc(dataBytes)]);
}

describe('safetensors reader', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-st-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };

  it('reads names, dtypes, shapes and absolute byte ranges, and decodes F32/F16/BF16', async () => {
    const values = Float32Array.from([1.5, -2, 0.25, 3]);
    const path = await write(
      'ok.safetensors',
      encodeSafetensors([
        { name: 'a', shape: [2, 2], data: values },
        { name: 'b', shape: [4], data: values, dtype: 'F16' },
        { name: 'c', shape: [4], data: values, dtype: 'BF16' },
      ]),
    );
    const header = await readSafetensorsHeader(path);
    const a = header.tensors.get('a')!;
    assert.deepEqual([a.dtype, a.shape, a.byteLength], ['F32', [2, 2], 16]);
    const headerLength = Number((await import('node:fs')).readFileSync(path).readBigUInt64LE(0));
    assert.equal(a.byteOffset, 8 + headerLength, 'first tensor starts right after the header');
    assert.deepEqual(Array.from(await readTensorValues(a)), [1.5, -2, 0.25, 3]);
    assert.deepEqual(Array.from(await readTensorValues(header.tensors.get('b')!)), [1.5, -2, 0.25, 3]);
    assert.deepEqual(Array.from(await readTensorValues(header.tensors.get('c')!)), [1.5, -2, 0.25, 3]);
  });

  it('rounds to half precision the way IEEE does', () => {
    assert.equal(floatToHalfBits(1), 0x3c00);
    assert.equal(floatToHalfBits(65504), 0x7bff);
    assert.equal(floatToHalfBits(1e6), 0x7c00);
    assert.equal(floatToBfloat16Bits(1), 0x3f80);
  });

  const corrupt: Array<[string, Buffer, RegExp]> = [
    ['a file shorter than the length prefix', Buffer.alloc(5), /too short/],
    ['a header length beyond the limit', rawFile('{}', 0, 1n << 40n), /header claims \d+ bytes \(limit \d+\)/],
    ['a header running past the end of the file', rawFile('{}', 0, 1000n), /runs past the end/],
    ['a header that is not JSON', rawFile('{nope', 0), /not valid JSON/],
    ['a header that is a JSON array', rawFile('[]', 0), /not a JSON object/],
    ['an unknown dtype', rawFile({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), /dtype "F128"/],
    ['a negative dimension', rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /shape \[-1\]/],
    ['offsets beyond the data', rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /ends at byte 16 but the data holds 8/],
    ['a byte count that does not match the shape', rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, 16), /has 16 bytes; F32 \[3\] needs 12/],
    ['reversed offsets', rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8), /data_offsets/],
    [
      'overlapping tensors',
      rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, v: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      /overlap/,
    ],
  ];
  for (const [what, bytes, pattern] of corrupt) {
    it(`refuses ${what}`, async () => {
      const path = await write(`bad-${what.replace(/\W+/g, '-')}.safetensors`, bytes);
      await assert.rejects(readSafetensorsHeader(path), (error: unknown) => {
        assert.ok(error instanceof ModelError, String(error));
        assert.match(error.message, /^corrupt safetensors file/);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }

  it('reads a sharded model through its index', async () => {
    const shardDir = join(dir, 'sharded');
    await writeFile(join(dir, 'placeholder'), '');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(shardDir);
    await writeFile(join(shardDir, 'model-00001-of-00002.safetensors'), encodeSafetensors([{ name: 'x', shape: [1], data: Float32Array.of(1) }]));
    await writeFile(join(shardDir, 'model-00002-of-00002.safetensors'), encodeSafetensors([{ name: 'y', shape: [2], data: Float32Array.of(2, 3) }]));
    await writeFile(
      join(shardDir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 12 }, weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } }),
    );
    const index = await readWeightIndex(shardDir);
    assert.deepEqual([...index.tensors.keys()].sort(), ['x', 'y']);
    assert.deepEqual(Array.from(await readTensorValues(index.tensors.get('y')!)), [2, 3]);
  });

  for (const shard of ['../outside.safetensors', '/etc/passwd', 'sub/model.safetensors', 'model.bin', '..safetensors']) {
    it(`refuses the shard name ${JSON.stringify(shard)} in an index`, async () => {
      const { mkdir } = await import('node:fs/promises');
      const shardDir = join(dir, `traversal-${shard.replace(/\W+/g, '_')}`);
      await mkdir(shardDir);
      await writeFile(join(shardDir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: shard } }));
      await assert.rejects(listWeightFiles(shardDir), /shard names must be plain \*\.safetensors file names/);
    });
  }

  it('a folder whose pytorch_model.bin is not a checkpoint is refused in one line when read', async () => {
    const { mkdir } = await import('node:fs/promises');
    const pickleDir = join(dir, 'pickle');
    await mkdir(pickleDir);
    await writeFile(join(pickleDir, 'pytorch_model.bin'), 'not really a pickle');
    assert.deepEqual(await listWeightFiles(pickleDir), [join(pickleDir, 'pytorch_model.bin')]);
    await assert.rejects(
      readWeightIndex(pickleDir),
      /refused PyTorch checkpoint ".*pytorch_model\.bin": it is neither a torch\.save zip nor a legacy torch\.save file/,
    );
  });
});
