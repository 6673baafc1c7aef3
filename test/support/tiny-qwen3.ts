/**
 * Tiny random Qwen3 models in the exact Hugging Face layout: the config.json keys of
 * Qwen/Qwen3-0.6B (head_dim, use_sliding_window, sliding_window, max_window_layers, rope_theta,
 * rope_scaling, tie_word_embeddings, attention_bias), Qwen3ForCausalLM keys (`model.` prefix,
 * `lm_head` unless tied) with `self_attn.q_norm` / `self_attn.k_norm` gains of [head_dim], or
 * Qwen3Model keys (bare).
 */
import type { WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, untiedHead, writeModelFolder, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyQwen3Options {
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nKvHeads?: number;
  headDim?: number;
  dMlp?: number;
  nCtx?: number;
  ropeTheta?: number;
  /** use_sliding_window true with this sliding_window (default: off, as the released models). */
  slidingWindow?: number;
  /** max_window_layers (Qwen3Config's default 28). */
  maxWindowLayers?: number;
  attentionBias?: boolean;
  /** tie_word_embeddings true: no lm_head is written (Qwen3-0.6B's setting). */
  tied?: boolean;
  /** Any other config entries (layer_types, rope_scaling, …), written as given. */
  extraConfig?: Record<string, unknown>;
  keys?: 'causal-lm' | 'base-model';
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

const VOCAB = 257;
const END_OF_TEXT_ID = 256;

export function tinyQwen3Config(options: TinyQwen3Options = {}): Record<string, unknown> {
  const { nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = 2, headDim = 16, dMlp = 48, nCtx = 64, ropeTheta = 1000000 } = options;
  return {
    architectures: [options.keys === 'base-model' ? 'Qwen3Model' : 'Qwen3ForCausalLM'],
    attention_bias: options.attentionBias ?? false,
    attention_dropout: 0.0,
    bos_token_id: END_OF_TEXT_ID,
    eos_token_id: END_OF_TEXT_ID,
    head_dim: headDim,
    hidden_act: 'silu',
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    max_position_embeddings: nCtx,
    max_window_layers: options.maxWindowLayers ?? 28,
    model_type: 'qwen3',
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    num_key_value_heads: nKvHeads,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: ropeTheta,
    sliding_window: options.slidingWindow ?? null,
    tie_word_embeddings: options.tied ?? false,
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: '4.51.0',
    use_cache: true,
    use_sliding_window: options.slidingWindow !== undefined,
    vocab_size: VOCAB,
    ...options.extraConfig,
  };
}

export async function writeTinyQwen3(dir: string, options: TinyQwen3Options = {}): Promise<TinyModel> {
  const config = tinyQwen3Config(options);
  const { nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = 2, headDim = 16, dMlp = 48, seed = 7, scale = 0.2 } = options;
  const bias = options.attentionBias ?? false;
  const { tensors, add } = createTensorMaker(seed, scale);
  const linear = (name: string, dIn: number, dOut: number, withBias: boolean) => {
    add(`${name}.weight`, [dOut, dIn]);
    if (withBias) add(`${name}.bias`, [dOut], 0, 0.1);
  };
  add('embed_tokens.weight', [VOCAB, dModel], 0, 1);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    add(`${p}.input_layernorm.weight`, [dModel], 1, 0.1);
    linear(`${p}.self_attn.q_proj`, dModel, nHeads * headDim, bias);
    linear(`${p}.self_attn.k_proj`, dModel, nKvHeads * headDim, bias);
    linear(`${p}.self_attn.v_proj`, dModel, nKvHeads * headDim, bias);
    linear(`${p}.self_attn.o_proj`, nHeads * headDim, dModel, bias);
    // Gains far from 1 and unequal across features, so a norm left out or applied over the wrong axis shows.
    add(`${p}.self_attn.q_norm.weight`, [headDim], 1, 0.5);
    add(`${p}.self_attn.k_norm.weight`, [headDim], 1, 0.5);
    add(`${p}.post_attention_layernorm.weight`, [dModel], 1, 0.1);
    linear(`${p}.mlp.gate_proj`, dModel, dMlp, false);
    linear(`${p}.mlp.up_proj`, dModel, dMlp, false);
    linear(`${p}.mlp.down_proj`, dMlp, dModel, false);
  }
  add('norm.weight', [dModel], 1, 0.1);
  const topLevel = options.keys !== 'base-model' && !options.tied ? [untiedHead('lm_head.weight', VOCAB, dModel, seed)] : [];
  const prefix = options.keys === 'base-model' ? '' : 'model.';
  const files = {
    'tokenizer.json': JSON.stringify(bytesTokenizerJson()),
    'tokenizer_config.json': JSON.stringify(tokenizerConfigJson(config.max_position_embeddings as number)),
  };
  return writeModelFolder(dir, { config, tensors, prefix, topLevel, files, ...(options.dtype ? { dtype: options.dtype } : {}) });
}
