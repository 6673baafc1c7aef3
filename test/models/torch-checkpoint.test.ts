/**
 * Reading genuine torch.save files (torch 1.13: zip and legacy formats, F32/F16/BF16, tied
 * tensors, a storage offset, a transposed view, a 0-d tensor, an int64 buffer) against the
 * values torch itself listed (expected.json), and where each tensor's bytes are found.
 */
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { TensorInfo } from '../../src/models/safetensors.js';
import { gather, isContiguous } from '../../src/models/torch/tensor-placement.js';
import { readTorchCheckpoint } from '../../src/models/torch/torch-checkpoint.js';
import { readTensorValues } from '../../src/models/weight-index.js';
import { FIXTURES, fixtureTensors } from './torch-fixtures.js';

const ELEMENT_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;

async function fileBytes(info: TensorInfo): Promise<Buffer> {
  const handle = await open(info.file, 'r');
  try {
    const bytes = Buffer.alloc(info.byteLength);
    await handle.read(bytes, 0, info.byteLength, info.byteOffset);
    return bytes;
  } finally {
    await handle.close();
  }
}

describe('reading genuine PyTorch checkpoints', () => {
  const cases = (['F32', 'F16', 'BF16'] as const).flatMap((dtype) => [
    { file: `zip-${dtype.toLowerCase()}.bin`, format: 'zip', dtype },
    { file: `legacy-${dtype.toLowerCase()}.bin`, format: 'legacy', dtype },
  ]);
  cases.push({ file: 'zip-archive-prefix.bin', format: 'zip', dtype: 'F32' });

  for (const { file, format, dtype } of cases) {
    it(`${file}: every tensor with torch's dtype, shape and values`, async () => {
      const checkpoint = await readTorchCheckpoint(`${FIXTURES}/${file}`);
      const expected = await fixtureTensors(dtype);
      assert.equal(checkpoint.format, format);
      assert.deepEqual([...checkpoint.tensors.keys()], Object.keys(expected));
      for (const [name, want] of Object.entries(expected)) {
        const info = checkpoint.tensors.get(name)!;
        assert.equal(info.dtype, want.dtype, name);
        assert.deepEqual(info.shape, want.shape, name);
        if (want.dtype === 'I64') {
          const bytes = await fileBytes(info);
          assert.deepEqual(
            Array.from({ length: bytes.length / 8 }, (_, i) => Number(bytes.readBigInt64LE(8 * i))),
            want.values,
            name,
          );
        } else {
          assert.deepEqual(Array.from(await readTensorValues(info)), want.values, name); // F16/BF16 values are exact in float32
        }
      }
    });

    it(`${file}: tied and offset tensors are referenced in place, only the transposed view is copied`, async () => {
      const { tensors, copiedBytes } = await readTorchCheckpoint(`${FIXTURES}/${file}`);
      const size = ELEMENT_BYTES[dtype];
      const weight = tensors.get('emb.weight')!;
      const head = tensors.get('head.weight')!;
      const row = tensors.get('row')!;
      const transposed = tensors.get('transposed')!;
      assert.equal(weight.data, undefined);
      assert.deepEqual([head.byteOffset, head.byteLength, head.data], [weight.byteOffset, weight.byteLength, undefined], 'tied: the same bytes');
      assert.deepEqual([row.byteOffset, row.byteLength, row.data], [weight.byteOffset + 6 * size, 3 * size, undefined], 'storage offset 6');
      assert.ok(transposed.data instanceof Uint8Array && transposed.data.length === 15 * size, 'the transposed view is copied');
      assert.equal(copiedBytes, 15 * size);
      if (format === 'zip')
        for (const info of tensors.values()) if (info !== row) assert.equal(info.byteOffset % 64, 0, `${info.name}: zip records are 64-byte aligned`);
    });
  }

  it('the view copy is the transpose of the stored matrix', async () => {
    const { tensors } = await readTorchCheckpoint(`${FIXTURES}/zip-f32.bin`);
    const weight = await readTensorValues(tensors.get('emb.weight')!); // [5, 3]
    const transposed = await readTensorValues(tensors.get('transposed')!); // [3, 5]
    for (let i = 0; i < 3; i += 1) for (let j = 0; j < 5; j += 1) assert.equal(transposed[i * 5 + j], weight[j * 3 + i]);
  });
});

describe('tensor placement', () => {
  it('tells contiguous layouts from strided ones, ignoring the strides of size-1 dimensions as torch does', () => {
    assert.equal(isContiguous([2, 3], [3, 1]), true);
    assert.equal(isContiguous([1, 4], [99, 1]), true);
    assert.equal(isContiguous([], []), true);
    assert.equal(isContiguous([3, 2], [1, 3]), false);
    assert.equal(isContiguous([2, 3], [6, 2]), false);
  });

  it('gathers a permuted 3-d view element by element', () => {
    // storage: a [2, 3, 4] tensor of int32 0..23; the view is its permute(2, 0, 1): shape [4, 2, 3], strides [1, 12, 4]
    const storage = new Uint8Array(Int32Array.from({ length: 24 }, (_, i) => i).buffer);
    const out = new Int32Array(gather(storage, [4, 2, 3], [1, 12, 4], 4).buffer);
    const expected: number[] = [];
    for (let k = 0; k < 4; k += 1) for (let i = 0; i < 2; i += 1) for (let j = 0; j < 3; j += 1) expected.push(i * 12 + j * 4 + k);
    assert.deepEqual(Array.from(out), expected);
  });

  it('gathers 2- and 8-byte elements bit for bit', () => {
    const halves = new Uint8Array(Uint16Array.from([0x7e00, 1, 0xfc00, 3]).buffer); // a NaN payload survives
    assert.deepEqual(Array.from(new Uint16Array(gather(halves, [2, 2], [1, 2], 2).buffer)), [0x7e00, 0xfc00, 1, 3]);
    const doubles = new Uint8Array(BigUint64Array.from([1n, 2n, 0x7ff8000000000001n, 4n]).buffer);
    assert.deepEqual(Array.from(new BigUint64Array(gather(doubles, [2, 2], [1, 2], 8).buffer)), [1n, 0x7ff8000000000001n, 2n, 4n]);
  });
});
