/**
 * Tiny random OLMo and OLMo-2 models in the exact Hugging Face layout: the config.json keys of
 * allenai/OLMo-1B-hf (clip_qkv, no norm epsilon: OlmoLayerNorm's is fixed) and of
 * allenai/OLMo-2-0425-1B (rms_norm_eps, no clip_qkv), OlmoForCausalLM / Olmo2ForCausalLM keys
 * (`model.` prefix, `lm_head` unless tied) or the base models' (bare). OLMo has no norm tensors
 * at all; OLMo-2 has post_attention_layernorm and post_feedforward_layernorm on each sub-block's
 * output and q_norm / k_norm over the whole projections.
 */
import type { WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, untiedHead, writeModelFolder, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyOlmoOptions {
  modelType?: 'olmo' | 'olmo2';
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nKvHeads?: number;
  dMlp?: number;
  nCtx?: number;
  ropeTheta?: number;
  /** OLMo: clip_qkv (null, as OLMo-1B-hf, when absent). */
  clipQkv?: number;
  attentionBias?: boolean;
  /** tie_word_embeddings true: no lm_head is written (OLMo-1B-hf's setting). */
  tied?: boolean;
  /** Any other config entries, written as given. */
  extraConfig?: Record<string, unknown>;
  keys?: 'causal-lm' | 'base-model';
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

const VOCAB = 257;
const END_OF_TEXT_ID = 256;

export function tinyOlmoConfig(options: TinyOlmoOptions = {}): Record<string, unknown> {
  const {
    modelType = 'olmo',
    nLayers = 2,
    dModel = 32,
    nHeads = 4,
    nKvHeads = nHeads,
    dMlp = 48,
    nCtx = 64,
    ropeTheta = modelType === 'olmo2' ? 500000 : 10000,
  } = options;
  const olmo2 = modelType === 'olmo2';
  const base = options.keys === 'base-model';
  return {
    architectures: [olmo2 ? (base ? 'Olmo2Model' : 'Olmo2ForCausalLM') : base ? 'OlmoModel' : 'OlmoForCausalLM'],
    attention_bias: options.attentionBias ?? false,
    attention_dropout: 0.0,
    ...(olmo2 ? {} : { clip_qkv: options.clipQkv ?? null }),
    eos_token_id: END_OF_TEXT_ID,
    hidden_act: 'silu',
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    max_position_embeddings: nCtx,
    model_type: modelType,
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    num_key_value_heads: nKvHeads,
    pad_token_id: 1,
    ...(olmo2 ? { rms_norm_eps: 1e-6 } : {}),
    rope_scaling: null,
    rope_theta: ropeTheta,
    tie_word_embeddings: options.tied ?? false,
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: olmo2 ? '4.48.0' : '4.40.0.dev0',
    use_cache: true,
    vocab_size: VOCAB,
    ...options.extraConfig,
  };
}

export async function writeTinyOlmo(dir: string, options: TinyOlmoOptions = {}): Promise<TinyModel> {
  const config = tinyOlmoConfig(options);
  const { modelType = 'olmo', nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = nHeads, dMlp = 48, seed = 7, scale = 0.2 } = options;
  const dHead = dModel / nHeads;
  const olmo2 = modelType === 'olmo2';
  const bias = options.attentionBias ?? false;
  const { tensors, add } = createTensorMaker(seed, scale);
  const linear = (name: string, dIn: number, dOut: number, withBias: boolean) => {
    add(`${name}.weight`, [dOut, dIn]);
    if (withBias) add(`${name}.bias`, [dOut], 0, 0.1);
  };
  add('embed_tokens.weight', [VOCAB, dModel], 0, 1);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    linear(`${p}.self_attn.q_proj`, dModel, nHeads * dHead, bias);
    linear(`${p}.self_attn.k_proj`, dModel, nKvHeads * dHead, bias);
    linear(`${p}.self_attn.v_proj`, dModel, nKvHeads * dHead, bias);
    linear(`${p}.self_attn.o_proj`, nHeads * dHead, dModel, bias);
    if (olmo2) {
      // Gains far from 1 and unequal, so a norm left out or applied over the wrong axis shows.
      add(`${p}.self_attn.q_norm.weight`, [nHeads * dHead], 1, 0.5);
      add(`${p}.self_attn.k_norm.weight`, [nKvHeads * dHead], 1, 0.5);
      add(`${p}.post_attention_layernorm.weight`, [dModel], 1, 0.3);
      add(`${p}.post_feedforward_layernorm.weight`, [dModel], 1, 0.3);
    }
    linear(`${p}.mlp.gate_proj`, dModel, dMlp, false);
    linear(`${p}.mlp.up_proj`, dModel, dMlp, false);
    linear(`${p}.mlp.down_proj`, dMlp, dModel, false);
  }
  if (olmo2) add('norm.weight', [dModel], 1, 0.1);
  const topLevel = !base(options) && !options.tied ? [untiedHead('lm_head.weight', VOCAB, dModel, seed)] : [];
  const files = {
    'tokenizer.json': JSON.stringify(bytesTokenizerJson()),
    'tokenizer_config.json': JSON.stringify(tokenizerConfigJson(config.max_position_embeddings as number)),
  };
  return writeModelFolder(dir, { config, tensors, prefix: base(options) ? '' : 'model.', topLevel, files, ...(options.dtype ? { dtype: options.dtype } : {}) });
}

function base(options: TinyOlmoOptions): boolean {
  return options.keys === 'base-model';
}
