import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readSafetensorsHeader } from '../../src/models/safetensors.js';
import { readTensorValues } from '../../src/models/weight-index.js';
import { floatToBfloat16Bits, floatToHalfBits } from '../support/safetensors-writer.js';

/** A safetensors file holding one tensor of all 65536 16-bit patterns, read back as float32. */
async function allPatterns(path: string, dtype: 'F16' | 'BF16'): Promise<Float32Array> {
  const data = Buffer.alloc(2 * 65536);
  for (let bits = 0; bits < 65536; bits += 1) data.writeUInt16LE(bits, 2 * bits);
  const header = Buffer.from(JSON.stringify({ t: { dtype, shape: [65536], data_offsets: [0, data.length] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  await writeFile(path, Buffer.concat([length, header, data]));
  return readTensorValues((await readSafetensorsHeader(path)).tensors.get('t')!);
}

describe('decoding 16-bit weights', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-decode-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('decodes every F16 and BF16 bit pattern', async () => {
    const halves = await allPatterns(join(dir, 'f16.safetensors'), 'F16');
    const brains = await allPatterns(join(dir, 'bf16.safetensors'), 'BF16');
    for (let bits = 0; bits < 65536; bits += 1) {
      const half = halves[bits]!;
      const notANumber = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      if (notANumber) assert.ok(Number.isNaN(half), `F16 ${bits.toString(16)}`);
      else assert.equal(floatToHalfBits(half), bits, `F16 ${bits.toString(16)} → ${half}`);
      const brain = brains[bits]!;
      if (Number.isNaN(brain)) assert.ok((bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0, `BF16 ${bits.toString(16)}`);
      else assert.equal(floatToBfloat16Bits(brain), bits, `BF16 ${bits.toString(16)} → ${brain}`);
    }
  });
});
