/**
 * Writes a generated model as a Hugging Face folder (config.json, model.safetensors, the
 * byte-level tokenizer.json + tokenizer_config.json) and reads the weights back, so a reference
 * forward pass sees exactly what was stored (after any F16/BF16 rounding).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import type { Random } from './random.js';
import { writeSafetensors, type TensorToWrite, type WrittenDtype } from './safetensors-writer.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyModel {
  dir: string;
  config: Record<string, unknown>;
  /** Weights by their name without the checkpoint's prefix, as float32. */
  weights: Map<string, Float32Array>;
}

export interface GeneratedTensor {
  /** Name without the checkpoint's prefix (e.g. `layers.0.mlp.up_proj.weight`). */
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Collects normally distributed tensors; `mean` ≈ 1 suits norm gains. */
export function createTensorList(random: Random, scale: number): { tensors: GeneratedTensor[]; add(name: string, shape: number[], mean?: number, std?: number): void } {
  const tensors: GeneratedTensor[] = [];
  return {
    tensors,
    add: (name, shape, mean = 0, std = scale) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i += 1) data[i] = mean + std * random.normal();
      tensors.push({ name, shape, data });
    },
  };
}

export function torchDtypeName(dtype: WrittenDtype | undefined): string {
  return dtype === 'F16' ? 'float16' : dtype === 'BF16' ? 'bfloat16' : 'float32';
}

export interface FolderContents {
  config: Record<string, unknown>;
  tensors: GeneratedTensor[];
  /** Prefix every tensor carries in the file (`gpt_neox.`, `model.` or none). */
  prefix: string;
  dtype?: WrittenDtype;
  /** Tensors written as they are (LM heads, buffers): not returned as weights. */
  extra?: TensorToWrite[];
}

export async function writeTinyModelFolder(dir: string, contents: FolderContents): Promise<TinyModel> {
  const { config, tensors, prefix, dtype = 'F32', extra = [] } = contents;
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, 'model.safetensors'), [...tensors.map((t) => ({ ...t, name: prefix + t.name, dtype })), ...extra]);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bytesTokenizerJson()));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(config.max_position_embeddings as number)));
  const index = await readWeightIndex(dir);
  const weights = new Map<string, Float32Array>();
  for (const tensor of tensors) weights.set(tensor.name, await readTensorValues(index.tensors.get(prefix + tensor.name)!));
  return { dir, config, weights };
}
