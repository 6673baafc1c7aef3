/**
 * All tensors of a model, across its weight files in the format src/models/weight-formats.ts
 * chooses: one `model.safetensors` or the shards of `model.safetensors.index.json`, else one
 * `pytorch_model.bin` or the shards of `pytorch_model.bin.index.json` (read without running them,
 * src/models/torch/). Either way a tensor is a byte range of its file (TensorInfo), so callers do
 * not see the format. Shard names are untrusted: they must be plain file names inside the folder.
 */
import { readdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError, quote } from '../errors.js';
import { describeReadFailure, readRegularFile } from '../io/read-regular-file.js';
import { readSafetensorsHeader, type SafetensorsDtype, type TensorInfo } from './safetensors.js';
import { readTorchCheckpoint } from './torch/torch-checkpoint.js';
import { checkShardName, chooseWeights, noWeightsError, WEIGHT_FORMATS, weightFormatOf, type WeightFormat } from './weight-formats.js';

export { checkShardName } from './weight-formats.js';
export const SINGLE_WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

export interface WeightIndex {
  tensors: Map<string, TensorInfo>;
  files: string[];
  /** dtype of the floating-point weights (the most common one, e.g. F32). */
  dtype: string;
  /** Bytes of all tensors, shared (tied) ones once. */
  totalBytes: number;
  format: WeightFormat;
  /** Bytes of tensors that could not be referenced in place and were copied into memory (non-contiguous views in a PyTorch checkpoint); 0 for safetensors. */
  copiedBytes: number;
}

/** The weight files a model folder uses: the chosen format's single file, or the shards of its index. */
export async function listWeightFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const choice = chooseWeights(entries);
  if (choice === undefined) throw noWeightsError(dir, entries);
  if (!choice.sharded) return [join(dir, choice.entry)];
  const indexPath = join(dir, choice.entry);
  let text: string;
  try {
    text = (await readRegularFile(indexPath)).toString('utf8');
  } catch (error) {
    throw new ModelError(`cannot read ${quote(indexPath)}: ${describeReadFailure(error)}; the weights index must be a JSON file`);
  }
  return shardNamesFromIndex(text, indexPath).map((name) => join(dir, name));
}

/** Unique shard names of an index file's weight_map, in first-use order; the index's name says their format. */
export function shardNamesFromIndex(text: string, indexPath: string): string[] {
  const format = WEIGHT_FORMATS.find(({ index }) => indexPath.endsWith(index))?.format ?? 'safetensors';
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch {
    throw new ModelError(`${quote(indexPath)} is not valid JSON`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new ModelError(`${quote(indexPath)} has no "weight_map" object`);
  }
  const names = new Set<string>();
  for (const shard of Object.values(weightMap)) names.add(checkShardName(shard, indexPath, format));
  if (names.size === 0) throw new ModelError(`${quote(indexPath)} has an empty "weight_map"`);
  return [...names];
}

/** The tensors of one weights file, by its format. */
async function readWeightFile(file: string): Promise<{ tensors: Map<string, TensorInfo>; copiedBytes: number }> {
  if (weightFormatOf(file.slice(file.lastIndexOf('/') + 1)) === 'safetensors') return { tensors: (await readSafetensorsHeader(file)).tensors, copiedBytes: 0 };
  const checkpoint = await readTorchCheckpoint(file);
  return { tensors: checkpoint.tensors, copiedBytes: checkpoint.copiedBytes };
}

export async function readWeightIndex(dir: string): Promise<WeightIndex> {
  const files = await listWeightFiles(dir);
  const tensors = new Map<string, TensorInfo>();
  const bytesByDtype = new Map<string, number>();
  const ranges = new Set<string>(); // tied tensors share their bytes: counted once
  let totalBytes = 0;
  let copiedBytes = 0;
  for (const file of files) {
    const read = await readWeightFile(file);
    copiedBytes += read.copiedBytes;
    for (const [name, info] of read.tensors) {
      if (tensors.has(name)) throw new ModelError(`tensor ${quote(name)} appears in two weight files of ${quote(dir)}`);
      tensors.set(name, info);
      const range = `${info.file}:${info.byteOffset}:${info.byteLength}:${info.data === undefined ? '' : name}`;
      if (!ranges.has(range)) totalBytes += info.byteLength;
      ranges.add(range);
      if (info.dtype === 'F32' || info.dtype === 'F16' || info.dtype === 'BF16') {
        bytesByDtype.set(info.dtype, (bytesByDtype.get(info.dtype) ?? 0) + info.byteLength);
      }
    }
  }
  const dtype = [...bytesByDtype.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
  const format = files.some((file) => file.endsWith('.safetensors')) ? 'safetensors' : 'pytorch';
  return { tensors, files, dtype, totalBytes, format, copiedBytes };
}

/** Decode one IEEE half-precision value. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

let halfTable: Float32Array | undefined;

/** Every half-precision value, decoded once: a table lookup per value is ~10× faster than the arithmetic. */
function halfToFloatTable(): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits += 1) halfTable[bits] = halfToFloat(bits);
  }
  return halfTable;
}

/** The bytes as little-endian 16-bit words (safetensors is little-endian, like every platform Node runs on). */
function uint16Words(bytes: Buffer): Uint16Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : Buffer.from(bytes);
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

function decodeToFloat32(bytes: Buffer, dtype: SafetensorsDtype): Float32Array {
  switch (dtype) {
    case 'F32':
      // A Buffer from Buffer.alloc owns its memory: view it in place when aligned.
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    case 'F16': {
      const table = halfToFloatTable();
      const words = uint16Words(bytes);
      const out = new Float32Array(words.length);
      for (let i = 0; i < out.length; i += 1) out[i] = table[words[i]!]!;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const words = uint16Words(bytes);
      const widened = new Uint32Array(words.length);
      for (let i = 0; i < widened.length; i += 1) widened[i] = words[i]! << 16;
      return new Float32Array(widened.buffer);
    }
    default:
      throw new ModelError(`tensor dtype ${dtype} cannot be read as floating-point weights (expected F32, F16 or BF16)`);
  }
}

/** Read one tensor's values as float32 (for weight analysis and tests; the graph never does this). */
export async function readTensorValues(info: TensorInfo): Promise<Float32Array> {
  if (info.data !== undefined) return decodeToFloat32(Buffer.from(info.data), info.dtype); // a copy: callers may change the values
  const bytes = Buffer.alloc(info.byteLength);
  let bytesRead: number;
  try {
    const handle = await open(info.file, 'r');
    try {
      ({ bytesRead } = await handle.read(bytes, 0, info.byteLength, info.byteOffset));
    } finally {
      await handle.close();
    }
  } catch (error) {
    // The file vanished or became unreadable since its header was read.
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ModelError(`could not read tensor ${quote(info.name)} from ${quote(info.file)}: ${code}`);
  }
  if (bytesRead !== info.byteLength) throw new ModelError(`could not read tensor ${quote(info.name)} from ${quote(info.file)}: file is truncated`);
  return decodeToFloat32(bytes, info.dtype);
}
