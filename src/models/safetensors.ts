/**
 * safetensors reader. Models are untrusted input: the header is bounded in size, and every
 * tensor's dtype, shape and byte range is checked against the file before anything trusts it.
 * Only the header is read; tensor bytes stay on disk (the ONNX graph points at them), except
 * when a caller explicitly asks for one tensor's values.
 *
 * Format: u64 little-endian header length N, N bytes of JSON header, then the data buffer.
 * Header: { "__metadata__"?: {string: string}, name: { dtype, shape, data_offsets: [begin, end] } }
 * with offsets relative to the start of the data buffer.
 */
import { stat } from 'node:fs/promises';
import { ModelError, quote } from '../errors.js';
import { describeSpecial } from '../io/output-guard.js';
import { parseJson } from '../io/json-text.js';
import { openRegularFile } from '../io/read-regular-file.js';

/** The largest header we accept (the reference implementation's limit is 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** Dtypes the graph can use as weights (cast to float32 inside the graph). */
export const WEIGHT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute path of the file holding the bytes. */
  file: string;
  /** Absolute byte offset of the first byte inside `file`. */
  byteOffset: number;
  byteLength: number;
  /**
   * The tensor's bytes, row-major, when they could not be referenced in place: a
   * non-contiguous view in a PyTorch checkpoint, copied once (src/models/torch/tensor-placement.ts).
   * Absent for every safetensors tensor.
   */
  data?: Uint8Array;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

function corrupt(file: string, problem: string): ModelError {
  return new ModelError(`corrupt safetensors file ${quote(file)}: ${problem}`);
}

/** Read and validate the header of one safetensors file. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  let fileSize: number;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new ModelError(`safetensors file ${quote(file)} is a folder; it must be a file`);
    if (!info.isFile()) throw new ModelError(`safetensors file ${quote(file)} is ${describeSpecial(info)}, not a regular file`);
    fileSize = info.size;
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(`missing safetensors file ${quote(file)}`);
  }
  if (fileSize < 8) throw corrupt(file, `only ${fileSize} bytes, too short for a header`);
  const handle = await openRegularFile(file);
  try {
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const headerLength = lengthBytes.readBigUInt64LE(0);
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw corrupt(file, `header claims ${headerLength} bytes (limit ${MAX_HEADER_BYTES})`);
    }
    const length = Number(headerLength);
    if (8 + length > fileSize) throw corrupt(file, `header of ${length} bytes runs past the end of the ${fileSize}-byte file`);
    const headerBytes = Buffer.alloc(length);
    await handle.read(headerBytes, 0, length, 8);
    return parseHeader(file, fileSize, 8 + length, headerBytes);
  } finally {
    await handle.close();
  }
}

function parseHeader(file: string, fileSize: number, dataStart: number, headerBytes: Buffer): SafetensorsHeader {
  let json: unknown;
  try {
    json = parseJson(headerBytes.toString('utf8'));
  } catch {
    throw corrupt(file, 'header is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(file, 'header is not a JSON object');
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, entry);
      continue;
    }
    const { dtype, shape, begin, end } = parseEntry(file, name, entry);
    if (end > dataSize) throw corrupt(file, `tensor ${quote(name)} ends at byte ${end} but the data holds ${dataSize}`);
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw corrupt(file, `tensor ${quote(name)} has ${end - begin} bytes; ${dtype} [${shape.join(', ')}] needs ${expected}`);
    }
    tensors.set(name, { name, dtype, shape, file, byteOffset: dataStart + begin, byteLength: end - begin });
  }
  checkNoOverlap(file, [...tensors.values()]);
  return { file, fileSize, tensors, metadata };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt(file, '__metadata__ is not an object');
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') throw corrupt(file, `__metadata__.${key} is not a string`);
  }
  return entry as Record<string, string>;
}

function parseEntry(file: string, name: string, entry: unknown): { dtype: SafetensorsDtype; shape: number[]; begin: number; end: number } {
  if (typeof entry !== 'object' || entry === null) throw corrupt(file, `tensor ${quote(name)} is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw corrupt(file, `tensor ${quote(name)} has dtype ${quote(dtype)}; known: ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw corrupt(file, `tensor ${quote(name)} has shape ${quote(shape)}; expected a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw corrupt(file, `tensor ${quote(name)} has data_offsets ${quote(offsets)}; expected [begin, end] with 0 ≤ begin ≤ end`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: offsets[0] as number, end: offsets[1] as number };
}

function checkNoOverlap(file: string, tensors: TensorInfo[]): void {
  const sorted = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < sorted.length; i += 1) {
    const previous = sorted[i - 1]!;
    if (sorted[i]!.byteOffset < previous.byteOffset + previous.byteLength) {
      throw corrupt(file, `tensors ${quote(previous.name)} and ${quote(sorted[i]!.name)} overlap`);
    }
  }
}
