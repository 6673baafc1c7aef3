/**
 * Tiny random Mixtral models in the exact Hugging Face layout: the config.json keys of
 * mistralai/Mixtral-8x7B-v0.1 (num_local_experts, num_experts_per_tok, router_aux_loss_coef,
 * output_router_logits, sliding_window null, rope_theta 1e6, …) and MixtralForCausalLM keys
 * (`model.` prefix, block_sparse_moe.gate and block_sparse_moe.experts.{e}.w1/w2/w3, lm_head),
 * or MixtralModel keys (bare, no head). The router's weights are drawn wide enough that tokens
 * spread over the experts.
 */
import type { WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, untiedHead, writeModelFolder, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyMixtralOptions {
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nKvHeads?: number;
  dMlp?: number;
  nCtx?: number;
  nExperts?: number;
  topK?: number;
  /** sliding_window (default null, as the released config). */
  slidingWindow?: number | null;
  /** Written as rope_theta when given (the released config: 1e6). */
  ropeTheta?: number;
  /** Any other config entries, written as given. */
  extraConfig?: Record<string, unknown>;
  keys?: 'causal-lm' | 'base-model';
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

const VOCAB = 257;
const END_OF_TEXT_ID = 256;

export function tinyMixtralConfig(options: TinyMixtralOptions = {}): Record<string, unknown> {
  const { nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = 2, dMlp = 48, nCtx = 64, nExperts = 4, topK = 2 } = options;
  return {
    architectures: [options.keys === 'base-model' ? 'MixtralModel' : 'MixtralForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: END_OF_TEXT_ID,
    eos_token_id: END_OF_TEXT_ID,
    hidden_act: 'silu',
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    max_position_embeddings: nCtx,
    model_type: 'mixtral',
    num_attention_heads: nHeads,
    num_experts_per_tok: topK,
    num_hidden_layers: nLayers,
    num_key_value_heads: nKvHeads,
    num_local_experts: nExperts,
    output_router_logits: false,
    rms_norm_eps: 1e-5,
    rope_theta: options.ropeTheta ?? 1e6,
    router_aux_loss_coef: 0.02,
    sliding_window: options.slidingWindow === undefined ? null : options.slidingWindow,
    tie_word_embeddings: false,
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: '4.36.0.dev0',
    use_cache: true,
    vocab_size: VOCAB,
    ...options.extraConfig,
  };
}

export async function writeTinyMixtral(dir: string, options: TinyMixtralOptions = {}): Promise<TinyModel> {
  const config = tinyMixtralConfig(options);
  const { nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = 2, dMlp = 48, nExperts = 4, seed = 7, scale = 0.2 } = options;
  const dHead = dModel / nHeads;
  const { tensors, add } = createTensorMaker(seed, scale);
  add('embed_tokens.weight', [VOCAB, dModel], 0, 1);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    add(`${p}.input_layernorm.weight`, [dModel], 1, 0.1);
    add(`${p}.self_attn.q_proj.weight`, [nHeads * dHead, dModel]);
    add(`${p}.self_attn.k_proj.weight`, [nKvHeads * dHead, dModel]);
    add(`${p}.self_attn.v_proj.weight`, [nKvHeads * dHead, dModel]);
    add(`${p}.self_attn.o_proj.weight`, [dModel, nHeads * dHead]);
    add(`${p}.post_attention_layernorm.weight`, [dModel], 1, 0.1);
    add(`${p}.block_sparse_moe.gate.weight`, [nExperts, dModel], 0, 0.6);
    for (let e = 0; e < nExperts; e += 1) {
      const expert = `${p}.block_sparse_moe.experts.${e}`;
      add(`${expert}.w1.weight`, [dMlp, dModel]);
      add(`${expert}.w2.weight`, [dModel, dMlp]);
      add(`${expert}.w3.weight`, [dMlp, dModel]);
    }
  }
  add('norm.weight', [dModel], 1, 0.1);
  const topLevel = options.keys !== 'base-model' ? [untiedHead('lm_head.weight', VOCAB, dModel, seed)] : [];
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
