/**
 * A generated model folder (test/support/tiny-*.ts) turned into the layouts of repos that ship
 * PyTorch checkpoints: `pytorch_model.bin`, or `pytorch_model-0000i-of-0000n.bin` shards and
 * `pytorch_model.bin.index.json` as transformers' save_pretrained writes them, in the zip or
 * the legacy format, with tied tensors sharing a storage and transposed views. The tensors'
 * bytes are copied as stored, so the folder's TinyModel weights (and references) still hold.
 */
import { open, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TensorInfo } from '../../src/models/safetensors.js';
import { readWeightIndex } from '../../src/models/weight-index.js';
import { type StorageDtype, type TorchTensor, writeTorchCheckpoint, type CheckpointOptions } from './torch-checkpoint-writer.js';

export interface PytorchLayout {
  format?: 'zip' | 'legacy';
  /** Split into this many shards with an index (default 1: one pytorch_model.bin). */
  shards?: number;
  /** Tensors written as the transposed view of a storage holding their transpose (2-d only): non-contiguous, as after `.t()`. */
  transposed?: readonly string[];
  /** [name, target]: add tensor `name` sharing `target`'s storage (tied, as lm_head and wte). */
  tied?: ReadonlyArray<[string, string]>;
  /** Keep the safetensors files beside the checkpoint (a repo with both formats). */
  keepSafetensors?: boolean;
}

async function rawBytes(info: TensorInfo): Promise<Uint8Array> {
  const bytes = Buffer.alloc(info.byteLength);
  const handle = await open(info.file, 'r');
  try {
    await handle.read(bytes, 0, info.byteLength, info.byteOffset);
  } finally {
    await handle.close();
  }
  return bytes;
}

/** The bytes of a row-major [rows, cols] matrix of `size`-byte elements, transposed to [cols, rows]. */
function transposeBytes(bytes: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let r = 0; r < rows; r += 1)
    for (let c = 0; c < cols; c += 1) out.set(bytes.subarray((r * cols + c) * size, (r * cols + c + 1) * size), (c * rows + r) * size);
  return out;
}

/** Rewrite `dir`'s weights as PyTorch checkpoints; returns the file names written. */
export async function convertToPytorch(dir: string, layout: PytorchLayout = {}): Promise<string[]> {
  const index = await readWeightIndex(dir);
  const tensors: TorchTensor[] = [];
  for (const [name, info] of index.tensors) {
    const dtype = info.dtype as StorageDtype;
    const raw = await rawBytes(info);
    if (layout.transposed?.includes(name)) {
      if (info.shape.length !== 2) throw new Error(`convertToPytorch: ${name} is not a matrix`);
      const [rows, cols] = info.shape as [number, number];
      const size = info.byteLength / (rows * cols);
      tensors.push({ name, shape: [rows, cols], strides: [1, rows], storage: { dtype, raw: transposeBytes(raw, rows, cols, size) } });
    } else {
      tensors.push({ name, shape: [...info.shape], storage: { dtype, raw } });
    }
  }
  for (const [name, target] of layout.tied ?? []) {
    const source = tensors.find((tensor) => tensor.name === target);
    if (source === undefined) throw new Error(`convertToPytorch: no tensor ${target} to tie ${name} to`);
    tensors.push({ ...source, name });
  }
  if (!layout.keepSafetensors) for (const file of index.files) await rm(file);
  if (!layout.keepSafetensors) await rm(join(dir, 'model.safetensors.index.json'), { force: true });
  const options: CheckpointOptions = { format: layout.format ?? 'zip', moduleVersions: [['', 1]] };
  const shards = layout.shards ?? 1;
  if (shards === 1) {
    await writeTorchCheckpoint(join(dir, 'pytorch_model.bin'), tensors, options);
    return ['pytorch_model.bin'];
  }
  // transformers' shard_checkpoint: tensors in order, a new shard when the current one is full; tied tensors stay with their storage.
  const names: string[] = [];
  const weightMap: Record<string, string> = {};
  const perShard = Math.ceil(tensors.length / shards);
  for (let shard = 0; shard < shards; shard += 1) {
    const part = tensors.slice(shard * perShard, (shard + 1) * perShard);
    const name = `pytorch_model-${String(shard + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.bin`;
    await writeTorchCheckpoint(join(dir, name), part, options);
    for (const tensor of part) weightMap[tensor.name] = name;
    names.push(name);
  }
  const totalSize = index.totalBytes;
  await writeFile(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  return [...names, 'pytorch_model.bin.index.json'].map((name) => basename(name));
}
