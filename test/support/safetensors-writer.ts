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
    return sign | (half + (remainder > halfway || (remainder === halfway && (half & 1)) ? 1 : 0));
  }
  const half = (exponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  return sign | (half + (remainder > 0x1000 || (remainder === 0x1000 && (half & 1)) ? 1 : 0));
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
  /** Fill the tensor's values (called once, just before its bytes are written). */
  fill(values: Float32Array): void;
}

/**
 * Write a large float32 safetensors file one tensor at a time, so a multi-gigabyte model never
 * has to fit in memory (used by the benchmark's generated models).
 */
export async function writeSafetensorsStreaming(path: string, tensors: StreamedTensor[]): Promise<number> {
  const { open } = await import('node:fs/promises');
  await mkdir(dirname(path), { recursive: true });
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = tensor.shape.reduce((a, b) => a * b, 1) * 4;
    header[tensor.name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, offset + bytes] };
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
      const values = new Float32Array(tensor.shape.reduce((a, b) => a * b, 1));
      tensor.fill(values);
      await handle.write(new Uint8Array(values.buffer));
    }
  } finally {
    await handle.close();
  }
  return offset;
}
