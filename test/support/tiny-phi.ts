/**
 * Tiny random Phi (Phi-2) and Phi-3 models in the exact Hugging Face layout. Phi: the config.json
 * keys of microsoft/phi-2 (partial_rotary_factor, qk_layernorm, resid_pdrop, embd_pdrop, …) and
 * PhiForCausalLM keys (`model.` prefix, self_attn.dense, mlp.fc1/fc2, final_layernorm,
 * lm_head.weight and lm_head.bias). Phi-3: the keys of microsoft/Phi-3-mini-4k-instruct
 * (original_max_position_embeddings, sliding_window, attention_bias, pad_token_id, …) and
 * Phi3ForCausalLM keys (fused self_attn.qkv_proj and mlp.gate_up_proj, model.norm, lm_head).
 * Both: GPTXModel keys (bare, no head) on request.
 */
import type { WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, untiedHead, writeModelFolder, type GeneratedTensor, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyPhiOptions {
  modelType?: 'phi' | 'phi3';
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nKvHeads?: number;
  dMlp?: number;
  nCtx?: number;
  /** partial_rotary_factor (phi default 0.5, as PhiConfig; phi3: not written unless given). */
  partialRotaryFactor?: number;
  /** phi: qk_layernorm true, with q_layernorm and k_layernorm weights and biases. */
  qkLayernorm?: boolean;
  /** phi3: sliding_window (default null). */
  slidingWindow?: number | null;
  /**
   * phi3: LongRoPE as Phi-3.5-mini's config writes it (rope_scaling {type, short_factor,
   * long_factor}; max_position_embeddings = nCtx, original_max_position_embeddings as given).
   */
  longRope?: { type?: 'longrope' | 'su'; shortFactor: number[]; longFactor: number[]; originalContext: number };
  /** Any other config entries, written as given. */
  extraConfig?: Record<string, unknown>;
  /** tie_word_embeddings true: no lm_head.weight (Phi keeps lm_head.bias). */
  tied?: boolean;
  keys?: 'causal-lm' | 'base-model';
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

const VOCAB = 264;
const END_OF_TEXT_ID = 256;

export function tinyPhiConfig(options: TinyPhiOptions = {}): Record<string, unknown> {
  const { modelType = 'phi', nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = nHeads, dMlp = 4 * dModel, nCtx = 64 } = options;
  const base = modelType === 'phi' ? 'Phi' : 'Phi3';
  const common = {
    architectures: [`${base}${options.keys === 'base-model' ? 'Model' : 'ForCausalLM'}`],
    attention_dropout: 0.0,
    bos_token_id: modelType === 'phi' ? END_OF_TEXT_ID : 1,
    embd_pdrop: 0.0,
    eos_token_id: END_OF_TEXT_ID,
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    max_position_embeddings: nCtx,
    model_type: modelType,
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    num_key_value_heads: nKvHeads,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: options.tied ?? false,
    torch_dtype: torchDtypeName(options.dtype),
    use_cache: true,
    vocab_size: VOCAB,
  };
  const own =
    modelType === 'phi'
      ? {
          hidden_act: 'gelu_new',
          layer_norm_eps: 1e-5,
          partial_rotary_factor: options.partialRotaryFactor ?? 0.5,
          qk_layernorm: options.qkLayernorm ?? false,
          resid_pdrop: 0.1,
          transformers_version: '4.37.0',
        }
      : {
          attention_bias: false,
          hidden_act: 'silu',
          original_max_position_embeddings: options.longRope?.originalContext ?? nCtx,
          ...(options.longRope
            ? {
                rope_scaling: {
                  long_factor: options.longRope.longFactor,
                  short_factor: options.longRope.shortFactor,
                  type: options.longRope.type ?? 'longrope',
                },
              }
            : {}),
          pad_token_id: END_OF_TEXT_ID,
          resid_pdrop: 0.0,
          rms_norm_eps: 1e-5,
          sliding_window: options.slidingWindow === undefined ? null : options.slidingWindow,
          transformers_version: '4.40.2',
          ...(options.partialRotaryFactor !== undefined ? { partial_rotary_factor: options.partialRotaryFactor } : {}),
        };
  return Object.fromEntries(Object.entries({ ...common, ...own, ...options.extraConfig }).sort(([a], [b]) => a.localeCompare(b)));
}

export async function writeTinyPhi(dir: string, options: TinyPhiOptions = {}): Promise<TinyModel> {
  const config = tinyPhiConfig(options);
  const { modelType = 'phi', nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = nHeads, dMlp = 4 * dModel, seed = 7, scale = 0.2 } = options;
  const dHead = dModel / nHeads;
  const { tensors, add } = createTensorMaker(seed, scale);
  const linear = (name: string, dIn: number, dOut: number, bias: boolean) => {
    add(`${name}.weight`, [dOut, dIn]);
    if (bias) add(`${name}.bias`, [dOut], 0, 0.1);
  };
  const norm = (name: string, bias: boolean) => {
    add(`${name}.weight`, [dModel], 1, 0.1);
    if (bias) add(`${name}.bias`, [dModel], 0, 0.1);
  };
  add('embed_tokens.weight', [VOCAB, dModel], 0, 1);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    if (modelType === 'phi') {
      norm(`${p}.input_layernorm`, true);
      linear(`${p}.self_attn.q_proj`, dModel, nHeads * dHead, true);
      linear(`${p}.self_attn.k_proj`, dModel, nKvHeads * dHead, true);
      linear(`${p}.self_attn.v_proj`, dModel, nKvHeads * dHead, true);
      linear(`${p}.self_attn.dense`, nHeads * dHead, dModel, true);
      if (options.qkLayernorm) {
        for (const which of ['q_layernorm', 'k_layernorm']) {
          add(`${p}.self_attn.${which}.weight`, [dHead], 1, 0.3);
          add(`${p}.self_attn.${which}.bias`, [dHead], 0, 0.3);
        }
      }
      linear(`${p}.mlp.fc1`, dModel, dMlp, true);
      linear(`${p}.mlp.fc2`, dMlp, dModel, true);
    } else {
      norm(`${p}.input_layernorm`, false);
      linear(`${p}.self_attn.qkv_proj`, dModel, (nHeads + 2 * nKvHeads) * dHead, false);
      linear(`${p}.self_attn.o_proj`, nHeads * dHead, dModel, false);
      norm(`${p}.post_attention_layernorm`, false);
      linear(`${p}.mlp.gate_up_proj`, dModel, 2 * dMlp, false);
      linear(`${p}.mlp.down_proj`, dMlp, dModel, false);
    }
  }
  norm(modelType === 'phi' ? 'final_layernorm' : 'norm', modelType === 'phi');
  const topLevel: GeneratedTensor[] = [];
  if (options.keys !== 'base-model') {
    if (!options.tied) topLevel.push(untiedHead('lm_head.weight', VOCAB, dModel, seed));
    if (modelType === 'phi') {
      const head = createTensorMaker(seed + 104729, 0.5);
      head.add('lm_head.bias', [VOCAB]);
      topLevel.push(...head.tensors);
    }
  }
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
