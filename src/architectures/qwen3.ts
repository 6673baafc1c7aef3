/**
 * Qwen3 (Qwen/Qwen3-0.6B … -32B; Qwen3ForCausalLM), as transformers' modeling_qwen3 runs it:
 * the Llama layout (pre-RMSNorm blocks, separate q/k/v/o projections, grouped-query attention,
 * rotary over whole heads, SwiGLU MLP with hidden_act) with two differences:
 *
 * - an RMSNorm of the queries and one of the keys over each head's head_dim features
 *   (`self_attn.q_norm`, `self_attn.k_norm`, gains of [head_dim] shared by every head), after
 *   the projections and before rotary;
 * - no bias on q/k/v (attention_bias, default false, puts one on q/k/v/o as LlamaAttention does).
 *
 * head_dim is read from the config (Qwen3Config's default 128, apart from hidden_size / heads).
 * Sliding windows as Qwen2's: on the layers `layer_types` names, else on layers from
 * max_window_layers (default 28) on, and only when use_sliding_window is true (sliding_window
 * default 4096); the released models keep it off. tie_word_embeddings defaults to false as in
 * Qwen3Config (the small checkpoints set it true); a checkpoint without lm_head is taken as
 * tied. Refused: partial rotary, RoPE types other than default/linear/llama3 (e.g. yarn, which
 * some long-context configs add).
 */
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { llamaLayoutAttention, llamaLayoutMlp, llamaLayoutModel, llamaLayoutQkNorm } from './llama-layout.js';
import { qwen2Windows } from './llama.js';
import { modelShape } from './model-shape.js';
import { readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';
import type { WeightIndex } from '../models/index.js';

/** Qwen3Config's head_dim when a config gives none. */
const DEFAULT_HEAD_DIM = 128;

function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.llamaStyleDims(DEFAULT_HEAD_DIM);
  return { shape: modelShape({ architecture: 'qwen3', dims, normalization: 'rmsnorm', parallelResidual: false }, reader), reader };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dHead } = dims;
  const eps = reader.positiveNumber('rms_norm_eps', 1e-6);
  const activation = readActivation(reader, 'hidden_act', 'silu');
  const rotary = readRotary(reader, dHead, dims.nCtx, { thetaKeys: ['rope_theta'], fractionKeys: ['partial_rotary_factor'], defaultFraction: 1 });
  reader.require(
    rotary.rotaryDims === dHead,
    `partial rotary (${rotary.rotaryDims} of ${dHead} head dimensions) is not supported for qwen3; its heads are rotated whole`,
  );
  const bias = reader.boolean('attention_bias', false);
  const windows = qwen2Windows(reader, dims.nLayers);
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['model.', ''], 'embed_tokens.weight');
  const blocks: BlockSpec[] = windows.map((window, layer) => ({
    norm1: w.rmsNorm(`layers.${layer}.input_layernorm`, dModel, eps),
    norm2: w.rmsNorm(`layers.${layer}.post_attention_layernorm`, dModel, eps),
    attention: {
      ...llamaLayoutAttention(w, layer, dims, { qkv: bias, out: bias }),
      scale: 1 / Math.sqrt(dHead),
      qkNorm: llamaLayoutQkNorm(w, layer, dims, 'per-head', eps),
      rotary,
      ...(window !== undefined ? { window } : {}),
    },
    mlp: llamaLayoutMlp(w, layer, dims, activation),
  }));
  return llamaLayoutModel(shape, w, reader, blocks, eps, weights.dtype);
}

export const qwen3Adapter: ArchitectureAdapter = {
  name: 'qwen3',
  family: 'Qwen3 (Alibaba)',
  architectures: ['Qwen3ForCausalLM', 'Qwen3Model'],
  readShape: finishedShape(readConfig),
  describe,
};
