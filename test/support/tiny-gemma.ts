/**
 * Tiny random Gemma, Gemma 2 and Gemma 3 (text) models in the exact Hugging Face layout: the
 * config.json keys of google/gemma-2b (Gemma 1.0: `"hidden_act": "gelu"`, no hidden_activation),
 * of google/gemma-2-2b (hidden_act and hidden_activation, query_pre_attn_scalar, the soft-caps,
 * sliding_window, cache_implementation) and of google/gemma-3-1b-pt (no hidden_act, null
 * soft-caps, sliding_window_pattern, rope_local_base_freq; `self_attn.q_norm` / `k_norm` of
 * [head_dim]), GemmaForCausalLM keys (`model.` prefix, no lm_head:
 * the embeddings are tied) and a head_dim apart from hidden_size / heads. Norm weights are
 * stored as Gemma stores them, w with the model applying 1 + w, drawn away from 0 so the offset
 * matters.
 */
import type { WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, untiedHead, writeModelFolder, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyGemmaOptions {
  modelType?: 'gemma' | 'gemma2' | 'gemma3_text';
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nKvHeads?: number;
  headDim?: number;
  dMlp?: number;
  nCtx?: number;
  /** Gemma 2 and 3: the config's values (null turns one off); defaults are the released models'. */
  slidingWindow?: number | null;
  queryPreAttnScalar?: number;
  attnLogitSoftcapping?: number | null;
  finalLogitSoftcapping?: number | null;
  /** Gemma 3: sliding_window_pattern (6), rope_local_base_freq (10000); rope_theta is ropeTheta (1e6). */
  slidingWindowPattern?: number;
  ropeLocalBaseFreq?: number;
  ropeTheta?: number;
  /** Any other config entries (layer_types, hidden_activation, tie_word_embeddings, …), written as given. */
  extraConfig?: Record<string, unknown>;
  attentionBias?: boolean;
  /** tie_word_embeddings false and a random lm_head (Gemma is tied by default). */
  untied?: boolean;
  keys?: 'causal-lm' | 'base-model';
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

const VOCAB = 257;
const END_OF_TEXT_ID = 256;

export function tinyGemmaConfig(options: TinyGemmaOptions = {}): Record<string, unknown> {
  if (options.modelType === 'gemma3_text') return tinyGemma3Config(options);
  const { modelType = 'gemma', nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = 1, headDim = 12, dMlp = 48, nCtx = 64 } = options;
  const gemma2 = modelType === 'gemma2';
  const prefix = gemma2 ? 'Gemma2' : 'Gemma';
  return {
    architectures: [`${prefix}${options.keys === 'base-model' ? 'Model' : 'ForCausalLM'}`],
    attention_bias: options.attentionBias ?? false,
    attention_dropout: 0.0,
    ...(gemma2 ? { attn_logit_softcapping: options.attnLogitSoftcapping === undefined ? 50.0 : options.attnLogitSoftcapping } : {}),
    bos_token_id: END_OF_TEXT_ID,
    ...(gemma2 ? { cache_implementation: 'hybrid' } : {}),
    eos_token_id: END_OF_TEXT_ID,
    ...(gemma2 ? { final_logit_softcapping: options.finalLogitSoftcapping === undefined ? 30.0 : options.finalLogitSoftcapping } : {}),
    head_dim: headDim,
    // Gemma 1.0's released configs say "gelu"; the models use the tanh approximation.
    hidden_act: gemma2 ? 'gelu_pytorch_tanh' : 'gelu',
    ...(gemma2 ? { hidden_activation: 'gelu_pytorch_tanh' } : {}),
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    max_position_embeddings: nCtx,
    model_type: modelType,
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    num_key_value_heads: nKvHeads,
    pad_token_id: 0,
    ...(gemma2 ? { query_pre_attn_scalar: options.queryPreAttnScalar ?? headDim } : {}),
    rms_norm_eps: 1e-6,
    ...(gemma2 ? {} : { rope_scaling: null }),
    rope_theta: 10000.0,
    ...(gemma2 ? { sliding_window: options.slidingWindow === undefined ? 4096 : options.slidingWindow } : {}),
    ...(options.untied ? { tie_word_embeddings: false } : {}),
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: gemma2 ? '4.42.4' : '4.38.0.dev0',
    use_cache: true,
    vocab_size: VOCAB,
    ...options.extraConfig,
  };
}

/** google/gemma-3-1b-pt's config.json keys. */
function tinyGemma3Config(options: TinyGemmaOptions): Record<string, unknown> {
  const { nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = 1, headDim = 12, dMlp = 48, nCtx = 64 } = options;
  const nullable = (value: number | null | undefined) => (value === undefined ? null : value);
  return {
    architectures: [options.keys === 'base-model' ? 'Gemma3TextModel' : 'Gemma3ForCausalLM'],
    attention_bias: options.attentionBias ?? false,
    attention_dropout: 0.0,
    attn_logit_softcapping: nullable(options.attnLogitSoftcapping),
    bos_token_id: END_OF_TEXT_ID,
    cache_implementation: 'hybrid',
    eos_token_id: END_OF_TEXT_ID,
    final_logit_softcapping: nullable(options.finalLogitSoftcapping),
    head_dim: headDim,
    hidden_activation: 'gelu_pytorch_tanh',
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    max_position_embeddings: nCtx,
    model_type: 'gemma3_text',
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    num_key_value_heads: nKvHeads,
    pad_token_id: 0,
    query_pre_attn_scalar: options.queryPreAttnScalar ?? headDim,
    rms_norm_eps: 1e-6,
    rope_local_base_freq: options.ropeLocalBaseFreq ?? 10000.0,
    rope_scaling: null,
    rope_theta: options.ropeTheta ?? 1000000.0,
    sliding_window: options.slidingWindow === undefined ? 512 : options.slidingWindow,
    sliding_window_pattern: options.slidingWindowPattern ?? 6,
    ...(options.untied ? { tie_word_embeddings: false } : {}),
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: '4.50.0.dev0',
    use_cache: true,
    vocab_size: VOCAB,
    ...options.extraConfig,
  };
}

export async function writeTinyGemma(dir: string, options: TinyGemmaOptions = {}): Promise<TinyModel> {
  const config = tinyGemmaConfig(options);
  const { modelType = 'gemma', nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = 1, headDim = 12, dMlp = 48, seed = 7, scale = 0.2 } = options;
  const { tensors, add } = createTensorMaker(seed, scale);
  const linear = (name: string, dIn: number, dOut: number, bias: boolean) => {
    add(`${name}.weight`, [dOut, dIn]);
    if (bias) add(`${name}.bias`, [dOut], 0, 0.1);
  };
  // Stored w around 0.3 (the gain applied is 1 + w): distinct from w itself.
  const norm = (name: string) => add(`${name}.weight`, [dModel], 0.3, 0.3);
  const bias = options.attentionBias ?? false;
  add('embed_tokens.weight', [VOCAB, dModel], 0, 1 / Math.sqrt(dModel));
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    norm(`${p}.input_layernorm`);
    linear(`${p}.self_attn.q_proj`, dModel, nHeads * headDim, bias);
    linear(`${p}.self_attn.k_proj`, dModel, nKvHeads * headDim, bias);
    linear(`${p}.self_attn.v_proj`, dModel, nKvHeads * headDim, bias);
    linear(`${p}.self_attn.o_proj`, nHeads * headDim, dModel, bias);
    if (modelType === 'gemma3_text') {
      // Stored w of [head_dim], applied as 1 + w, far from 0 so the gains matter.
      add(`${p}.self_attn.q_norm.weight`, [headDim], 0.3, 0.5);
      add(`${p}.self_attn.k_norm.weight`, [headDim], 0.3, 0.5);
    }
    norm(`${p}.post_attention_layernorm`);
    if (modelType !== 'gemma') {
      norm(`${p}.pre_feedforward_layernorm`);
      norm(`${p}.post_feedforward_layernorm`);
    }
    linear(`${p}.mlp.gate_proj`, dModel, dMlp, false);
    linear(`${p}.mlp.up_proj`, dModel, dMlp, false);
    linear(`${p}.mlp.down_proj`, dMlp, dModel, false);
  }
  norm('norm');
  const topLevel = options.untied && options.keys !== 'base-model' ? [untiedHead('lm_head.weight', VOCAB, dModel, seed)] : [];
  const files = {
    'tokenizer.json': JSON.stringify(bytesTokenizerJson()),
    'tokenizer_config.json': JSON.stringify(tokenizerConfigJson(config.max_position_embeddings as number)),
  };
  return writeModelFolder(dir, {
    config,
    tensors,
    prefix: options.keys === 'base-model' ? '' : 'model.',
    topLevel,
    files,
    ...(options.dtype ? { dtype: options.dtype } : {}),
  });
}
