/**
 * Tiny random GPT-NeoX (Pythia) models in the exact Hugging Face layout: GPTNeoXForCausalLM
 * keys (`gpt_neox.` prefix, a random untied `embed_out` unless tied, and the buffers old checkpoints carry:
 * attention.bias, attention.masked_bias, attention.rotary_emb.inv_freq) or GPTNeoXModel keys
 * (bare); config.json as Pythia writes it (rotary_pct, rotary_emb_base) or as transformers ≥ 5
 * does (rope_parameters).
 */
import type { TensorToWrite, WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, untiedHead, writeModelFolder, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyGptNeoxOptions {
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nCtx?: number;
  rotaryPct?: number;
  rotaryBase?: number;
  parallelResidual?: boolean;
  /** 'pythia': rotary_pct + rotary_emb_base; 'rope-parameters': rope_parameters dict. */
  ropeConfig?: 'pythia' | 'rope-parameters';
  /** rope_scaling dict written as is (e.g. {"type": "linear", "factor": 2}). */
  ropeScaling?: Record<string, unknown>;
  attentionBias?: boolean;
  keys?: 'causal-lm' | 'base-model';
  /** tie_word_embeddings: W_U is embed_in and no embed_out is written (default false: a random embed_out). */
  tied?: boolean;
  activation?: string;
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

/** The byte tokenizer's 257 ids, padded like Pythia pads 50277 to 50304. */
const VOCAB = 264;
const END_OF_TEXT_ID = 256;

export function tinyGptNeoxConfig(options: TinyGptNeoxOptions = {}): Record<string, unknown> {
  const { nLayers = 2, dModel = 32, nHeads = 4, nCtx = 64, rotaryPct = 0.25, rotaryBase = 10000, parallelResidual = true, activation = 'gelu' } = options;
  const rope =
    options.ropeConfig === 'rope-parameters'
      ? { rope_parameters: { rope_type: 'default', rope_theta: rotaryBase, partial_rotary_factor: rotaryPct } }
      : { rotary_emb_base: rotaryBase, rotary_pct: rotaryPct };
  return {
    architectures: [options.keys === 'base-model' ? 'GPTNeoXModel' : 'GPTNeoXForCausalLM'],
    bos_token_id: END_OF_TEXT_ID,
    eos_token_id: END_OF_TEXT_ID,
    hidden_act: activation,
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: 4 * dModel,
    layer_norm_eps: 1e-5,
    max_position_embeddings: nCtx,
    model_type: 'gpt_neox',
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    ...rope,
    ...(options.ropeScaling ? { rope_scaling: options.ropeScaling } : {}),
    ...(options.attentionBias === false ? { attention_bias: false } : {}),
    tie_word_embeddings: options.tied ?? false,
    torch_dtype: torchDtypeName(options.dtype),
    use_cache: true,
    use_parallel_residual: parallelResidual,
    vocab_size: VOCAB,
  };
}

export async function writeTinyGptNeox(dir: string, options: TinyGptNeoxOptions = {}): Promise<TinyModel> {
  const config = tinyGptNeoxConfig(options);
  const { nLayers = 2, dModel = 32, nHeads = 4, nCtx = 64, rotaryPct = 0.25, seed = 7, scale = 0.2 } = options;
  const { tensors, add } = createTensorMaker(seed, scale);
  const bias = options.attentionBias !== false;
  add('embed_in.weight', [VOCAB, dModel], 0, 1);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    add(`${p}.input_layernorm.weight`, [dModel], 1, 0.1);
    add(`${p}.input_layernorm.bias`, [dModel], 0, 0.1);
    add(`${p}.post_attention_layernorm.weight`, [dModel], 1, 0.1);
    add(`${p}.post_attention_layernorm.bias`, [dModel], 0, 0.1);
    add(`${p}.attention.query_key_value.weight`, [3 * dModel, dModel]);
    if (bias) add(`${p}.attention.query_key_value.bias`, [3 * dModel], 0, 0.1);
    add(`${p}.attention.dense.weight`, [dModel, dModel]);
    if (bias) add(`${p}.attention.dense.bias`, [dModel], 0, 0.1);
    add(`${p}.mlp.dense_h_to_4h.weight`, [4 * dModel, dModel]);
    add(`${p}.mlp.dense_h_to_4h.bias`, [4 * dModel], 0, 0.1);
    add(`${p}.mlp.dense_4h_to_h.weight`, [dModel, 4 * dModel]);
    add(`${p}.mlp.dense_4h_to_h.bias`, [dModel], 0, 0.1);
  }
  add('final_layer_norm.weight', [dModel], 1, 0.1);
  add('final_layer_norm.bias', [dModel], 0, 0.1);

  const extra: TensorToWrite[] = [];
  const topLevel = options.keys !== 'base-model' && !options.tied ? [untiedHead('embed_out.weight', VOCAB, dModel, seed)] : [];
  if (options.keys !== 'base-model') {
    const rotaryDims = Math.floor((dModel / nHeads) * rotaryPct);
    const causal = new Float32Array(nCtx * nCtx).map((_, i) => (i % nCtx <= Math.floor(i / nCtx) ? 1 : 0));
    for (let layer = 0; layer < nLayers; layer += 1) {
      const p = `gpt_neox.layers.${layer}.attention`;
      extra.push({ name: `${p}.bias`, shape: [1, 1, nCtx, nCtx], data: causal, dtype: 'BOOL' });
      extra.push({ name: `${p}.masked_bias`, shape: [], data: new Float32Array([-1e9]) });
      extra.push({
        name: `${p}.rotary_emb.inv_freq`,
        shape: [rotaryDims / 2],
        data: Float32Array.from({ length: rotaryDims / 2 }, (_, i) => 10000 ** ((-2 * i) / rotaryDims)),
      });
    }
  }
  const prefix = options.keys === 'base-model' ? '' : 'gpt_neox.';
  const files = { 'tokenizer.json': JSON.stringify(bytesTokenizerJson()), 'tokenizer_config.json': JSON.stringify(tokenizerConfigJson(nCtx)) };
  return writeModelFolder(dir, { config, tensors, prefix, extra, topLevel, files, ...(options.dtype ? { dtype: options.dtype } : {}) });
}
