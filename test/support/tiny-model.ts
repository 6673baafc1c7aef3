/**
 * Shared pieces of the tiny-model generators (tiny-gpt-neo.ts, tiny-opt.ts): seeded random
 * tensors, a byte-level vocab.json + merges.txt pair as Hub repos without tokenizer.json ship
 * it, and writing a model folder whose weights are read back (after F16/BF16 rounding) for the
 * references.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { createRandom } from './random.js';
import { writeSafetensors, type TensorToWrite, type WrittenDtype } from './safetensors-writer.js';
import type { TinyModel } from './tiny-gpt2.js';
import { bytesToUnicode } from './tokenizers.js';

export type { TinyModel };

export interface GeneratedTensor {
  /** Name without the checkpoint's key prefix. */
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Normal random tensors with a default standard deviation, in the order they are added. */
export function createTensorMaker(
  seed: number,
  scale: number,
): { tensors: GeneratedTensor[]; add(name: string, shape: number[], mean?: number, std?: number): void } {
  const random = createRandom(seed);
  const tensors: GeneratedTensor[] = [];
  return {
    tensors,
    add(name, shape, mean = 0, std = scale) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i += 1) data[i] = mean + std * random.normal();
      tensors.push({ name, shape, data });
    },
  };
}

/**
 * A byte-level BPE vocabulary without merges: `before` tokens get ids 0…, then the 256 bytes,
 * then `after` tokens. Returns the file contents and the id of every special token.
 */
export function byteVocabFiles(before: string[], after: string[]): { vocabJson: string; mergesTxt: string; ids: Record<string, number> } {
  const vocab: Record<string, number> = {};
  const ids: Record<string, number> = {};
  let next = 0;
  for (const token of before) ids[token] = vocab[token] = next++;
  for (const char of bytesToUnicode()) vocab[char] = next++;
  for (const token of after) ids[token] = vocab[token] = next++;
  return { vocabJson: JSON.stringify(vocab), mergesTxt: '#version: 0.2\n', ids };
}

export interface ModelFolder {
  config: Record<string, unknown>;
  tensors: GeneratedTensor[];
  /** Key prefix of the checkpoint (e.g. `transformer.`). */
  prefix: string;
  dtype?: WrittenDtype;
  /** Extra tensors written as they are (buffers a loader must ignore). */
  extra?: TensorToWrite[];
  /** Tensors outside the body's prefix (an untied LM head), written under their own names and read back into the weights. */
  topLevel?: GeneratedTensor[];
  /** Other files of the folder (tokenizer files), by name. */
  files: Record<string, string>;
}

export async function writeModelFolder(dir: string, folder: ModelFolder): Promise<TinyModel> {
  const { config, tensors, prefix } = folder;
  const topLevel = folder.topLevel ?? [];
  const toWrite: TensorToWrite[] = [...tensors.map((t) => ({ ...t, name: prefix + t.name })), ...topLevel].map((t) => ({ ...t, dtype: folder.dtype ?? 'F32' }));
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, 'model.safetensors'), [...toWrite, ...(folder.extra ?? [])]);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  for (const [name, content] of Object.entries(folder.files)) await writeFile(join(dir, name), content);
  // Read the values back, so references see exactly what was stored.
  const index = await readWeightIndex(dir);
  const weights = new Map<string, Float32Array>();
  for (const tensor of tensors) weights.set(tensor.name, await readTensorValues(index.tensors.get(prefix + tensor.name)!));
  for (const tensor of topLevel) weights.set(tensor.name, await readTensorValues(index.tensors.get(tensor.name)!));
  return { dir, config, weights };
}

/**
 * An untied LM head W_U [dVocab, dModel], as its own tensor outside the body's prefix: random
 * (from its own seed, so the body's tensors keep their values) or, for tests of exact ties,
 * every entry `constant` (all logits equal).
 */
export function untiedHead(name: string, dVocab: number, dModel: number, seed: number, constant?: number): GeneratedTensor {
  if (constant !== undefined) return { name, shape: [dVocab, dModel], data: new Float32Array(dVocab * dModel).fill(constant) };
  const { tensors, add } = createTensorMaker(seed + 7919, 3 / Math.sqrt(dModel));
  add(name, [dVocab, dModel]);
  return tensors[0]!;
}

export function torchDtypeName(dtype: WrittenDtype | undefined): string {
  return dtype === 'F16' ? 'float16' : dtype === 'BF16' ? 'bfloat16' : 'float32';
}

/** Rewrite a model folder's float tensors (as F32) into model.safetensors, the named ones left out. */
export async function removeTensors(dir: string, names: readonly string[]): Promise<void> {
  const index = await readWeightIndex(dir);
  const absent = names.filter((name) => !index.tensors.has(name));
  if (absent.length > 0) throw new Error(`removeTensors: ${absent.join(', ')} not in ${dir}`);
  const kept: TensorToWrite[] = [];
  for (const [name, info] of index.tensors) {
    if (!names.includes(name) && ['F32', 'F16', 'BF16'].includes(info.dtype)) kept.push({ name, shape: info.shape, data: await readTensorValues(info) });
  }
  await writeSafetensors(join(dir, 'model.safetensors'), kept);
}

/** Merge `changes` into a model folder's config.json; a value of undefined deletes the key. */
export async function editConfig(dir: string, changes: Record<string, unknown>): Promise<void> {
  const path = join(dir, 'config.json');
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  await writeFile(path, JSON.stringify(config, null, 2));
}
