/**
 * Where a checkpoint's tensors lie in its file. A tensor whose elements are contiguous in its
 * storage (the usual case, also for tied tensors and views with a storage offset) is a byte
 * range of the file, referenced in place exactly like a safetensors tensor. A non-contiguous
 * view (a transposed matrix, a strided slice) cannot be a byte range: its elements are copied
 * once, row-major, into memory, and the copies of one model are bounded in all
 * (`MAX_COPIED_BYTES`) so a crafted checkpoint cannot make the reader allocate without limit.
 */
import { openRegularFile } from '../../io/read-regular-file.js';
import { DTYPE_BYTES, type TensorInfo } from '../safetensors.js';
import type { TensorValue } from './torch-pickle.js';

/** Where one storage's bytes lie in the file. */
export interface StorageRange {
  /** Absolute offset of the storage's first byte. */
  start: number;
  bytes: number;
}

/** A checkpoint's tensors and the byte ranges of the storages they use (by storage key). */
export interface ParsedCheckpoint {
  tensors: Map<string, TensorValue>;
  ranges: Map<string, StorageRange>;
}

/** The most bytes of non-contiguous tensors a model may make the reader copy into memory. */
export const MAX_COPIED_BYTES = 256 * 1024 * 1024;

export class PlacementError extends Error {}

/** Row-major strides of `shape`, in elements. */
function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i -= 1) {
    strides[i] = step;
    step *= shape[i]!;
  }
  return strides;
}

/** Whether the elements are laid out row-major without gaps (dimensions of size 1 may have any stride, as in torch). */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  const expected = contiguousStrides(shape);
  return shape.every((size, i) => size <= 1 || strides[i] === expected[i]);
}

/** A budget shared by one model's copies. */
export interface CopyBudget {
  used: number;
}

/**
 * The TensorInfo of `tensor` named `name` in `file`, its storage at `range`; throws
 * PlacementError when the tensor reaches past its storage or copies would exceed the budget.
 */
export async function placeTensor(name: string, tensor: TensorValue, range: StorageRange, file: string, budget: CopyBudget): Promise<TensorInfo> {
  const dtype = tensor.dtype!;
  const size = DTYPE_BYTES[dtype];
  const { shape, strides, offset } = tensor;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(numel * size)) throw new PlacementError(`tensor ${JSON.stringify(name)} has ${numel} elements, too many to address`);
  const base = { name, dtype, shape: [...shape], file };
  if (numel === 0) return { ...base, byteOffset: range.start, byteLength: 0 };
  const last = offset + shape.reduce((sum, dim, i) => sum + (dim - 1) * strides[i]!, 0);
  if ((last + 1) * size > range.bytes) {
    throw new PlacementError(
      `tensor ${JSON.stringify(name)} (${dtype} [${shape.join(', ')}], offset ${offset}, stride [${strides.join(', ')}]) reaches byte ${(last + 1) * size} of storage ${JSON.stringify(tensor.storage.key)}, which holds ${range.bytes}`,
    );
  }
  const byteOffset = range.start + offset * size;
  if (isContiguous(shape, strides)) return { ...base, byteOffset, byteLength: numel * size };
  const spanBytes = (last - offset + 1) * size;
  if (budget.used + numel * size > MAX_COPIED_BYTES || spanBytes > MAX_COPIED_BYTES) {
    throw new PlacementError(
      `non-contiguous tensor ${JSON.stringify(name)} would need ${budget.used + Math.max(numel * size, spanBytes)} bytes copied into memory (limit ${MAX_COPIED_BYTES}); re-save the checkpoint with contiguous tensors, or convert it to safetensors`,
    );
  }
  budget.used += numel * size;
  const data = gather(await readSpan(file, byteOffset, spanBytes), shape, strides, size);
  return { ...base, byteOffset, byteLength: numel * size, data };
}

async function readSpan(file: string, position: number, length: number): Promise<Buffer> {
  const span = Buffer.alloc(length);
  const handle = await openRegularFile(file);
  try {
    const { bytesRead } = await handle.read(span, 0, length, position);
    if (bytesRead !== length) throw new PlacementError(`${file} ends inside a tensor (truncated?)`);
  } finally {
    await handle.close();
  }
  return span;
}

/** Views of the same bytes as elements of `size` bytes, so one assignment copies one element bit for bit. */
function elementView(bytes: Uint8Array, size: number): Uint8Array | Uint16Array | Uint32Array | BigUint64Array {
  const { buffer, byteOffset, byteLength } = bytes;
  if (size === 1) return bytes;
  if (size === 2) return new Uint16Array(buffer, byteOffset, byteLength / 2);
  if (size === 4) return new Uint32Array(buffer, byteOffset, byteLength / 4);
  return new BigUint64Array(buffer, byteOffset, byteLength / 8);
}

/** The elements of a strided view, row-major; `span` starts at the view's first element. */
export function gather(span: Uint8Array, shape: readonly number[], strides: readonly number[], size: number): Uint8Array {
  const numel = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(numel * size);
  // Buffer.alloc and new Uint8Array start on an aligned address; copy so the source is aligned too.
  const source = span.byteOffset % 8 === 0 ? span : Uint8Array.from(span);
  const from = elementView(source, size);
  const to = elementView(out, size);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = 0; // element offset into `from` of the current index
  for (let i = 0; i < numel; i += 1) {
    (to as Uint32Array)[i] = (from as Uint32Array)[at]!;
    // Advance the index like an odometer, the last dimension fastest.
    for (let d = rank - 1; d >= 0; d -= 1) {
      index[d]! += 1;
      at += strides[d]!;
      if (index[d]! < shape[d]!) break;
      at -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}
