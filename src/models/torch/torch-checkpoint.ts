/**
 * PyTorch checkpoints (`pytorch_model.bin` and its shards) read without running them: the
 * zip format of torch ≥ 1.6 (any record prefix) and the legacy sequential format before it.
 * The pickle goes through the restricted unpickler (what torch.load(weights_only=True) allows,
 * nothing else: src/models/torch/torch-globals.ts); the result is the same TensorInfo map the
 * safetensors reader gives, each tensor a byte range of the file where its elements are
 * contiguous (src/models/torch/tensor-placement.ts). Every failure is one ModelError line.
 */
import type { Stats } from 'node:fs';
import { stat, type FileHandle } from 'node:fs/promises';
import { openRegularFile } from '../../io/read-regular-file.js';
import { ModelError, quote } from '../../errors.js';
import { describeSpecial } from '../../io/output-guard.js';
import type { TensorInfo } from '../safetensors.js';
import { PickleError, unpickle } from './restricted-unpickler.js';
import { placeTensor, PlacementError, type CopyBudget, type ParsedCheckpoint, type StorageRange } from './tensor-placement.js';
import { LEGACY_SIGNATURE, LegacyError, parseLegacy } from './torch-legacy.js';
import { stateDictTensors, torchPickleHooks, type StoragePid, type StorageValue } from './torch-pickle.js';
import { openTorchZip, ZipError } from './torch-zip.js';

/** The largest pickle read (the safetensors header limit is 100 MB; a state dict's pickle is ~200 bytes per tensor). */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

export interface TorchCheckpoint {
  file: string;
  fileSize: number;
  format: 'zip' | 'legacy';
  tensors: Map<string, TensorInfo>;
  /** Bytes of non-contiguous tensors copied into memory (0 for a usual checkpoint). */
  copiedBytes: number;
  /** Tensors left out because their dtype is not a number type weights use (complex, quantized): name → storage class. */
  skipped: Map<string, string>;
}

const ZIP_SIGNATURE = Uint8Array.from([0x50, 0x4b, 0x03, 0x04]);
const startsWith = (bytes: Uint8Array, prefix: Uint8Array) => prefix.every((byte, i) => bytes[i] === byte);

function refusal(file: string, error: unknown): unknown {
  if (error instanceof PickleError) {
    const where = error.at === undefined ? '' : ` (byte ${error.at} of its pickle)`;
    return new ModelError(`refused PyTorch checkpoint ${quote(file)}: ${error.message}${where}; nothing in it was run`);
  }
  if (error instanceof ZipError || error instanceof LegacyError || error instanceof PlacementError)
    return new ModelError(`refused PyTorch checkpoint ${quote(file)}: ${error.message}`);
  return error;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  const { bytesRead } = await handle.read(bytes, 0, length, position);
  return bytes.subarray(0, bytesRead);
}

async function parseZip(file: string): Promise<ParsedCheckpoint> {
  const zip = await openTorchZip(file);
  try {
    const record = async (name: string, what: string) => {
      const found = await zip.record(`${zip.prefix}/${name}`);
      if (found === undefined) throw new ZipError(`it has no record ${JSON.stringify(`${zip.prefix}/${name}`)} for ${what}`);
      return found;
    };
    const handle = await openRegularFile(file);
    try {
      if (zip.entries.has(`${zip.prefix}/byteorder`)) {
        const order = await record('byteorder', 'the byte order');
        const text = (await readAt(handle, order.dataStart, Math.min(order.size, 16))).toString('latin1').trim();
        if (text !== 'little') throw new ZipError(`its byteorder record says ${JSON.stringify(text)}; only little-endian checkpoints are read`);
      }
      const pickle = await record('data.pkl', 'the pickle');
      if (pickle.size > MAX_PICKLE_BYTES) throw new ZipError(`its pickle has ${pickle.size} bytes (limit ${MAX_PICKLE_BYTES})`);
      const bytes = await readAt(handle, pickle.dataStart, pickle.size);
      const storages = new Map<string, StorageValue>();
      const loadStorage = (pid: StoragePid): StorageValue => {
        if (pid.rest.length !== 0) throw new PickleError(`a storage id has ${5 + pid.rest.length} fields; the zip format has 5`);
        const known = storages.get(pid.key);
        if (known !== undefined && (known.numel !== pid.numel || known.className !== pid.className))
          throw new PickleError(`storage ${pid.key} is named twice with different types or sizes`);
        const storage = known ?? {
          kind: 'object',
          type: 'storage',
          key: pid.key,
          className: pid.className,
          dtype: pid.dtype,
          elementBytes: pid.elementBytes,
          numel: pid.numel,
          location: pid.location,
        };
        storages.set(pid.key, storage);
        return storage;
      };
      const tensors = stateDictTensors(unpickle(bytes, torchPickleHooks(loadStorage)).value);
      const ranges = new Map<string, StorageRange>();
      for (const tensor of tensors.values()) {
        const { key } = tensor.storage;
        if (tensor.dtype === null || ranges.has(key)) continue;
        const storage = storages.get(key)!;
        const data = await record(`data/${key}`, `storage ${JSON.stringify(key)}`);
        const claimed = storage.numel * storage.elementBytes;
        if (claimed > data.size)
          throw new ZipError(
            `storage ${JSON.stringify(key)} claims ${claimed} bytes (${storage.numel} × ${storage.elementBytes}) but its record holds ${data.size}`,
          );
        ranges.set(key, { start: data.dataStart, bytes: claimed });
      }
      zip.checkApart();
      return { tensors, ranges };
    } finally {
      await handle.close();
    }
  } finally {
    zip.close();
  }
}

/** The legacy format's pickles lie at the start of the file: read a head, and more if a pickle runs past it. */
async function readLegacy(file: string, fileSize: number): Promise<ParsedCheckpoint> {
  const handle = await openRegularFile(file);
  try {
    for (let length = Math.min(fileSize, 1024 * 1024); ; length = Math.min(fileSize, length * 8, MAX_PICKLE_BYTES)) {
      const head = await readAt(handle, 0, length);
      try {
        return await parseLegacy(head, handle, fileSize);
      } catch (error) {
        const more = length < fileSize && length < MAX_PICKLE_BYTES;
        if (!(error instanceof PickleError && error.truncated && more)) {
          if (error instanceof PickleError && error.truncated && length >= MAX_PICKLE_BYTES)
            throw new LegacyError(`its pickles take more than ${MAX_PICKLE_BYTES} bytes (limit)`);
          throw error;
        }
      }
    }
  } finally {
    await handle.close();
  }
}

async function fileSizeOf(file: string): Promise<number> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch {
    throw new ModelError(`missing PyTorch checkpoint ${quote(file)}`);
  }
  if (info.isDirectory()) throw new ModelError(`PyTorch checkpoint ${quote(file)} is a folder; it must be a file`);
  if (!info.isFile()) throw new ModelError(`PyTorch checkpoint ${quote(file)} is ${describeSpecial(info)}, not a regular file`);
  return info.size;
}

export async function readTorchCheckpoint(file: string): Promise<TorchCheckpoint> {
  const fileSize = await fileSizeOf(file);
  try {
    const handle = await openRegularFile(file);
    const start = await readAt(handle, 0, 512).finally(() => handle.close());
    let format: TorchCheckpoint['format'];
    let parsed: ParsedCheckpoint;
    if (startsWith(start, ZIP_SIGNATURE)) {
      format = 'zip';
      parsed = await parseZip(file);
    } else if (startsWith(start, LEGACY_SIGNATURE)) {
      format = 'legacy';
      parsed = await readLegacy(file, fileSize);
    } else if (start.subarray(257, 262).toString('latin1') === 'ustar') {
      throw new LegacyError(
        'it is a tar archive, the format of torch before 0.4, which is not read; re-save it with a current torch, or convert it to safetensors',
      );
    } else {
      throw new LegacyError(
        `it is neither a torch.save zip nor a legacy torch.save file (it starts with bytes ${quote(Buffer.from(start.subarray(0, 8)).toString('hex'))})`,
      );
    }
    const budget: CopyBudget = { used: 0 };
    const tensors = new Map<string, TensorInfo>();
    const skipped = new Map<string, string>();
    for (const [name, tensor] of parsed.tensors) {
      if (tensor.dtype === null) {
        skipped.set(name, tensor.storage.className);
        continue;
      }
      tensors.set(name, await placeTensor(name, tensor, parsed.ranges.get(tensor.storage.key)!, file, budget));
    }
    return { file, fileSize, format, tensors, copiedBytes: budget.used, skipped };
  } catch (error) {
    throw refusal(file, error);
  }
}
