/**
 * All tensors of a model, across its weight files in the format src/models/weight-formats.ts
 * chooses: one `model.safetensors` or the shards of `model.safetensors.index.json`, else one
 * `pytorch_model.bin` or the shards of `pytorch_model.bin.index.json` (read without running them,
 * src/models/torch/). Either way a tensor is a byte range of its file (TensorInfo), so callers do
 * not see the format. Shard names are untrusted: they must be plain file names inside the folder.
 */
import { readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError, quote } from '../errors.js';
import { describeReadFailure, openRegularFile, readRegularFile } from '../io/read-regular-file.js';
import { readSafetensorsHeader, type SafetensorsDtype, type TensorInfo } from './safetensors.js';
import { readTorchCheckpoint } from './torch/torch-checkpoint.js';
import { checkShardName, chooseWeights, noWeightsError, WEIGHT_FORMATS, weightFormatOf, type WeightFormat } from './weight-formats.js';
import { parseJson } from '../io/json-text.js';

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
    index = parseJson(text);
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

/** Decode `bytes` of a tensor stored as `dtype` into `out` from element `at` on (little-endian, like every platform Node runs on). */
function decodeInto(bytes: Buffer, dtype: SafetensorsDtype, out: Float32Array, at: number): void {
  switch (dtype) {
    case 'F32':
      out.set(
        bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Float32Array(Uint8Array.from(bytes).buffer),
        at,
      );
      return;
    case 'F16': {
      const table = halfToFloatTable();
      const words = uint16Words(bytes);
      for (let i = 0; i < words.length; i += 1) out[at + i] = table[words[i]!]!;
      return;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const words = uint16Words(bytes);
      const widened = new Uint32Array(out.buffer, out.byteOffset + 4 * at, words.length);
      for (let i = 0; i < words.length; i += 1) widened[i] = words[i]! << 16;
      return;
    }
    default:
      throw new ModelError(`tensor dtype ${dtype} cannot be read as floating-point weights (expected F32, F16 or BF16)`);
  }
}

/** Bytes read and decoded at a time: a tensor's half-precision bytes are never all in memory beside its float32 values. */
const SLAB_BYTES = 32 * 1024 * 1024;

/**
 * One tensor's values as float32, read from its file a slab at a time into one array (weight
 * analysis, a streamed run's block weights, tests): into `into` when given (its length must be
 * the tensor's), else a new array. 4 bytes per value plus one slab, whatever the stored dtype; no
 * single read is larger than a slab, so tensors over 2 GB read whole.
 */
export async function readTensorValues(info: TensorInfo, into?: Float32Array): Promise<Float32Array> {
  const elementBytes = info.dtype === 'F32' ? 4 : 2;
  const count = info.byteLength / elementBytes;
  if (into !== undefined && into.length !== count) throw new Error(`tensor ${info.name} has ${count} values, not ${into.length}`);
  const out = into ?? new Float32Array(count);
  if (info.data !== undefined) {
    decodeInto(Buffer.from(info.data.buffer, info.data.byteOffset, info.data.byteLength), info.dtype, out, 0); // a copy: callers may change the values
    return out;
  }
  const fail = (problem: string) => new ModelError(`could not read tensor ${quote(info.name)} from ${quote(info.file)}: ${problem}`);
  let handle: FileHandle;
  try {
    handle = await openRegularFile(info.file);
  } catch (error) {
    // The file vanished or became unreadable since its header was read.
    throw fail((error as NodeJS.ErrnoException).code ?? String(error));
  }
  try {
    const slab = Buffer.allocUnsafe(Math.min(SLAB_BYTES, info.byteLength));
    for (let done = 0; done < info.byteLength; ) {
      const length = Math.min(slab.length, info.byteLength - done);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(slab, 0, length, info.byteOffset + done));
      } catch (error) {
        throw fail((error as NodeJS.ErrnoException).code ?? String(error));
      }
      if (bytesRead !== length) throw fail('file is truncated');
      decodeInto(slab.subarray(0, length), info.dtype, out, done / elementBytes);
      done += length;
    }
  } finally {
    await handle.close();
  }
  return out;
}
