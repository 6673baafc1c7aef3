/**
 * Tiny random GPT-2 models in the exact Hugging Face layout (config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json), in both key variants: `transformer.`-prefixed
 * (GPT2LMHeadModel, with the old causal-mask buffers) and bare (GPT2Model).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { createRandom } from './random.js';
import { writeSafetensors, type TensorToWrite, type WrittenDtype } from './safetensors-writer.js';
import { untiedHead } from './tiny-model.js';
import { bytesTokenizerJson, gpt2TokenizerText, tokenizerConfigJson } from './tokenizers.js';

export interface TinyGpt2Options {
  /** A massive activation planted in the embedding: wte[token][dim] = value (a residual dimension that stays huge). */
  plant?: { token: number; dim: number; value: number };
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nCtx?: number;
  /** 'bytes' → vocabulary of 257 (bytes + <|endoftext|>); 'gpt2' → the real 50257. */
  tokenizer?: 'bytes' | 'gpt2';
  /** Key layout: GPT2LMHeadModel (`transformer.` prefix and attn buffers) or GPT2Model (bare). */
  keys?: 'lm-head-model' | 'base-model';
  activation?: string;
  /** false: tie_word_embeddings false and a random `lm_head.weight` (GPT-2 is tied by default). */
  tied?: boolean;
  dtype?: WrittenDtype;
  seed?: number;
  /** Standard deviation of the random weights. */
  scale?: number;
}

export interface TinyModel {
  dir: string;
  config: Record<string, unknown>;
  /** Weights by their name without prefix, as float32 (after any F16/BF16 rounding). */
  weights: Map<string, Float32Array>;
}

export function tinyGpt2Weights(options: TinyGpt2Options = {}): {
  config: Record<string, unknown>;
  tensors: Array<{ name: string; shape: number[]; data: Float32Array }>;
} {
  const { nLayers = 2, dModel = 32, nHeads = 4, nCtx = 64, tokenizer = 'bytes', activation = 'gelu_new', seed = 7, scale = 0.2 } = options;
  const dVocab = tokenizer === 'bytes' ? 257 : 50257;
  const random = createRandom(seed);
  const tensors: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  const add = (name: string, shape: number[], mean = 0, std = scale) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i += 1) data[i] = mean + std * random.normal();
    tensors.push({ name, shape, data });
  };
  add('wte.weight', [dVocab, dModel]);
  if (options.plant) tensors[0]!.data[options.plant.token * dModel + options.plant.dim] = options.plant.value;
  add('wpe.weight', [nCtx, dModel], 0, scale / 2);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `h.${layer}`;
    add(`${p}.ln_1.weight`, [dModel], 1, 0.1);
    add(`${p}.ln_1.bias`, [dModel], 0, 0.1);
    add(`${p}.attn.c_attn.weight`, [dModel, 3 * dModel]);
    add(`${p}.attn.c_attn.bias`, [3 * dModel], 0, 0.1);
    add(`${p}.attn.c_proj.weight`, [dModel, dModel]);
    add(`${p}.attn.c_proj.bias`, [dModel], 0, 0.1);
    add(`${p}.ln_2.weight`, [dModel], 1, 0.1);
    add(`${p}.ln_2.bias`, [dModel], 0, 0.1);
    add(`${p}.mlp.c_fc.weight`, [dModel, 4 * dModel]);
    add(`${p}.mlp.c_fc.bias`, [4 * dModel], 0, 0.1);
    add(`${p}.mlp.c_proj.weight`, [4 * dModel, dModel]);
    add(`${p}.mlp.c_proj.bias`, [dModel], 0, 0.1);
  }
  add('ln_f.weight', [dModel], 1, 0.1);
  add('ln_f.bias', [dModel], 0, 0.1);
  const config = {
    activation_function: activation,
    architectures: [options.keys === 'base-model' ? 'GPT2Model' : 'GPT2LMHeadModel'],
    attn_pdrop: 0.1,
    bos_token_id: dVocab - 1,
    embd_pdrop: 0.1,
    eos_token_id: dVocab - 1,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
    model_type: 'gpt2',
    n_ctx: nCtx,
    n_embd: dModel,
    n_head: nHeads,
    n_inner: null,
    n_layer: nLayers,
    n_positions: nCtx,
    resid_pdrop: 0.1,
    scale_attn_weights: true,
    torch_dtype: options.dtype === 'F16' ? 'float16' : options.dtype === 'BF16' ? 'bfloat16' : 'float32',
    use_cache: true,
    vocab_size: dVocab,
    ...(options.tied === false ? { tie_word_embeddings: false } : {}),
  };
  return { config, tensors };
}

export async function writeTinyGpt2(dir: string, options: TinyGpt2Options = {}): Promise<TinyModel> {
  const { config, tensors } = tinyGpt2Weights(options);
  const prefix = options.keys === 'base-model' ? '' : 'transformer.';
  const toWrite: TensorToWrite[] = tensors.map((t) => ({ ...t, name: prefix + t.name, dtype: options.dtype ?? 'F32' }));
  if (options.keys !== 'base-model') {
    // Old GPT2LMHeadModel checkpoints carry the causal mask as buffers; they must be ignored.
    const nCtx = config.n_positions as number;
    for (let layer = 0; layer < (config.n_layer as number); layer += 1) {
      const mask = new Float32Array(nCtx * nCtx);
      for (let i = 0; i < nCtx; i += 1) for (let j = 0; j <= i; j += 1) mask[i * nCtx + j] = 1;
      toWrite.push({ name: `transformer.h.${layer}.attn.bias`, shape: [1, 1, nCtx, nCtx], data: mask });
      toWrite.push({ name: `transformer.h.${layer}.attn.masked_bias`, shape: [], data: new Float32Array([-1e4]) });
    }
  }
  const head = options.tied === false ? [untiedHead('lm_head.weight', config.vocab_size as number, config.n_embd as number, options.seed ?? 7)] : [];
  toWrite.push(...head.map((t) => ({ ...t, dtype: options.dtype ?? 'F32' })));
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, 'model.safetensors'), toWrite);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeFile(join(dir, 'tokenizer.json'), options.tokenizer === 'gpt2' ? gpt2TokenizerText() : JSON.stringify(bytesTokenizerJson()));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(config.n_positions as number)));
  // Read the values back, so references see exactly what was stored (after F16/BF16 rounding).
  const index = await readWeightIndex(dir);
  const weights = new Map<string, Float32Array>();
  for (const tensor of tensors) weights.set(tensor.name, await readTensorValues(index.tensors.get(prefix + tensor.name)!));
  for (const tensor of head) weights.set(tensor.name, await readTensorValues(index.tensors.get(tensor.name)!));
  return { dir, config, weights };
}
