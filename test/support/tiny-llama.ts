/**
 * Tiny random Llama-layout models in the exact Hugging Face layout, under the names llama,
 * mistral and qwen2: LlamaForCausalLM keys (`model.` prefix, `lm_head` unless tied, the
 * rotary_emb.inv_freq buffers old checkpoints carry) or LlamaModel keys (bare); rope settings
 * as top-level rope_theta + rope_scaling (transformers 4) or a rope_parameters dict (5).
 */
import type { TensorToWrite, WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, untiedHead, writeModelFolder, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyLlamaOptions {
  modelType?: 'llama' | 'mistral' | 'qwen2';
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nKvHeads?: number;
  /** Written as head_dim when given (may differ from dModel / nHeads). */
  headDim?: number;
  dMlp?: number;
  nCtx?: number;
  ropeTheta?: number;
  /** rope_scaling / rope_parameters entries besides rope_theta (e.g. {rope_type: 'linear', factor: 2}). */
  rope?: Record<string, unknown>;
  ropeConfig?: 'rope-scaling' | 'rope-parameters';
  /** llama only: attention_bias and mlp_bias. */
  attentionBias?: boolean;
  mlpBias?: boolean;
  /** Any other config entries (sliding_window, layer_types, …), written as given. */
  extraConfig?: Record<string, unknown>;
  /** tie_word_embeddings: no lm_head is written (default false: a random lm_head). */
  tied?: boolean;
  /** Every entry of the untied lm_head this value (all logits equal: exact ties), instead of random. */
  constantHead?: number;
  keys?: 'causal-lm' | 'base-model';
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

const VOCAB = 257;
const END_OF_TEXT_ID = 256;
const ARCHITECTURE = { llama: 'Llama', mistral: 'Mistral', qwen2: 'Qwen2' } as const;

export function tinyLlamaConfig(options: TinyLlamaOptions = {}): Record<string, unknown> {
  const { modelType = 'llama', nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = nHeads, dMlp = 48, nCtx = 64, ropeTheta = 10000 } = options;
  const rope =
    options.ropeConfig === 'rope-parameters'
      ? { rope_parameters: { rope_type: 'default', ...options.rope, rope_theta: ropeTheta } }
      : { rope_theta: ropeTheta, rope_scaling: options.rope ?? null };
  return {
    architectures: [`${ARCHITECTURE[modelType]}${options.keys === 'base-model' ? 'Model' : 'ForCausalLM'}`],
    ...(modelType === 'llama' ? { attention_bias: options.attentionBias ?? false, mlp_bias: options.mlpBias ?? false } : {}),
    bos_token_id: END_OF_TEXT_ID,
    eos_token_id: END_OF_TEXT_ID,
    ...(options.headDim !== undefined ? { head_dim: options.headDim } : {}),
    hidden_act: 'silu',
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    max_position_embeddings: nCtx,
    model_type: modelType,
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    num_key_value_heads: nKvHeads,
    rms_norm_eps: 1e-5,
    ...rope,
    ...(modelType === 'mistral' ? { sliding_window: null } : {}),
    ...options.extraConfig,
    tie_word_embeddings: options.tied ?? false,
    torch_dtype: torchDtypeName(options.dtype),
    use_cache: true,
    vocab_size: VOCAB,
  };
}

export async function writeTinyLlama(dir: string, options: TinyLlamaOptions = {}): Promise<TinyModel> {
  const config = tinyLlamaConfig(options);
  const { modelType = 'llama', nLayers = 2, dModel = 32, nHeads = 4, nKvHeads = nHeads, dMlp = 48, seed = 7, scale = 0.2 } = options;
  const dHead = options.headDim ?? dModel / nHeads;
  const qkvBias = modelType === 'qwen2' || (modelType === 'llama' && options.attentionBias === true);
  const outBias = modelType === 'llama' && options.attentionBias === true;
  const mlpBias = modelType === 'llama' && options.mlpBias === true;
  const { tensors, add } = createTensorMaker(seed, scale);
  const linear = (name: string, dIn: number, dOut: number, bias: boolean) => {
    add(`${name}.weight`, [dOut, dIn]);
    if (bias) add(`${name}.bias`, [dOut], 0, 0.1);
  };
  add('embed_tokens.weight', [VOCAB, dModel], 0, 1);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    add(`${p}.input_layernorm.weight`, [dModel], 1, 0.1);
    linear(`${p}.self_attn.q_proj`, dModel, nHeads * dHead, qkvBias);
    linear(`${p}.self_attn.k_proj`, dModel, nKvHeads * dHead, qkvBias);
    linear(`${p}.self_attn.v_proj`, dModel, nKvHeads * dHead, qkvBias);
    linear(`${p}.self_attn.o_proj`, nHeads * dHead, dModel, outBias);
    add(`${p}.post_attention_layernorm.weight`, [dModel], 1, 0.1);
    linear(`${p}.mlp.gate_proj`, dModel, dMlp, mlpBias);
    linear(`${p}.mlp.up_proj`, dModel, dMlp, mlpBias);
    linear(`${p}.mlp.down_proj`, dMlp, dModel, mlpBias);
  }
  add('norm.weight', [dModel], 1, 0.1);

  const extra: TensorToWrite[] = [];
  if (options.keys !== 'base-model') {
    for (let layer = 0; layer < nLayers; layer += 1) {
      extra.push({
        name: `model.layers.${layer}.self_attn.rotary_emb.inv_freq`,
        shape: [dHead / 2],
        data: Float32Array.from({ length: dHead / 2 }, (_, i) => 10000 ** ((-2 * i) / dHead)),
      });
    }
  }
  const topLevel = options.keys !== 'base-model' && !options.tied ? [untiedHead('lm_head.weight', VOCAB, dModel, seed, options.constantHead)] : [];
  const prefix = options.keys === 'base-model' ? '' : 'model.';
  const files = {
    'tokenizer.json': JSON.stringify(bytesTokenizerJson()),
    'tokenizer_config.json': JSON.stringify(tokenizerConfigJson(config.max_position_embeddings as number)),
  };
  return writeModelFolder(dir, { config, tensors, prefix, extra, topLevel, files, ...(options.dtype ? { dtype: options.dtype } : {}) });
}
