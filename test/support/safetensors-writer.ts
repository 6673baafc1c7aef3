/**
 * Writes safetensors files exactly as the Python library does (header padded with spaces to a
 * multiple of 8, tensors contiguous in header order), for generated test models.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type WrittenDtype = 'F32' | 'F16' | 'BF16';
/** One-byte dtypes, for the mask buffers some old checkpoints carry (values 0 or 1). */
type ByteDtype = 'U8' | 'BOOL';

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
  dtype?: WrittenDtype | ByteDtype;
}

/** Round a float32 to IEEE half precision bits (round to nearest even). */
export function floatToHalfBits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    const half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (half + (remainder > halfway || (remainder === halfway && half & 1) ? 1 : 0));
  }
  const half = (exponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  return sign | (half + (remainder > 0x1000 || (remainder === 0x1000 && half & 1) ? 1 : 0));
}

/** Round a float32 to bfloat16 bits (round to nearest even). */
export function floatToBfloat16Bits(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0]!;
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}

function encode(tensor: TensorToWrite): Buffer {
  const dtype = tensor.dtype ?? 'F32';
  if (dtype === 'F32') return Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  if (dtype === 'U8' || dtype === 'BOOL') return Buffer.from(Uint8Array.from(tensor.data, (value) => (value ? 1 : 0)));
  const out = Buffer.alloc(tensor.data.length * 2);
  const convert = dtype === 'F16' ? floatToHalfBits : floatToBfloat16Bits;
  tensor.data.forEach((value, i) => out.writeUInt16LE(convert(value), 2 * i));
  return out;
}

export function encodeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = encode(tensor);
    header[tensor.name] = { dtype: tensor.dtype ?? 'F32', shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(headerText)));
  return Buffer.concat([length, Buffer.from(headerText), ...chunks]);
}

export async function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodeSafetensors(tensors, metadata));
}

export interface StreamedTensor {
  name: string;
  shape: number[];
  /**
   * Fill the tensor's values, just before its bytes are written: once with the whole tensor, or,
   * with `slabElements`, once per consecutive slab of at most that many values.
   */
  fill(values: Float32Array): void;
}

export interface StreamingOptions {
  /** Stored dtype (default F32); BF16 rounds to nearest even. */
  dtype?: 'F32' | 'BF16';
  /** Fill and write at most this many values at a time, so no tensor is ever whole in memory. */
  slabElements?: number;
}

/** float32 values → bfloat16 bits, rounded to nearest even (NaN is not expected in generated weights). */
function toBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i += 1) {
    const b = bits[i]!;
    out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/**
 * Write a large safetensors file one tensor (or slab) at a time, so a multi-gigabyte model never
 * has to fit in memory (used by the benchmark's generated models). Returns the data bytes.
 */
export async function writeSafetensorsStreaming(path: string, tensors: StreamedTensor[], options: StreamingOptions = {}): Promise<number> {
  const { open } = await import('node:fs/promises');
  const dtype = options.dtype ?? 'F32';
  const elementBytes = dtype === 'F32' ? 4 : 2;
  await mkdir(dirname(path), { recursive: true });
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = tensor.shape.reduce((a, b) => a * b, 1) * elementBytes;
    header[tensor.name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const handle = await open(path, 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(Buffer.byteLength(headerText)));
    await handle.write(length);
    await handle.write(headerText);
    for (const tensor of tensors) {
      const total = tensor.shape.reduce((a, b) => a * b, 1);
      const slab = options.slabElements ?? total;
      for (let start = 0; start < total; start += slab) {
        const values = new Float32Array(Math.min(slab, total - start));
        tensor.fill(values);
        const stored = dtype === 'F32' ? values : toBfloat16(values);
        await handle.write(new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength));
      }
    }
  } finally {
    await handle.close();
  }
  return offset;
}
