/**
 * The Llama layout (LlamaForCausalLM, and Mistral / Qwen2, which share its keys): pre-RMSNorm
 * blocks, separate q/k/v/o projections stored [out, in], grouped-query attention
 * (num_key_value_heads), rotary embeddings over whole heads (rotate_half), SwiGLU MLP
 * down(act(gate(x)) · up(x)), attention scaled by 1/√head_dim. No position table.
 * What differs between the three names is data (LLAMA, MISTRAL, QWEN2 below): which projections carry biases and
 * which layers use a sliding window. Ignored tensors: rotary_emb.inv_freq.
 * Output head (logit lens only): `model.norm` (RMSNorm), and W_U = `lm_head.weight`, or
 * `embed_tokens` when tie_word_embeddings is true or the checkpoint has no lm_head
 * (transformers would initialize a missing untied head at random; the lens takes such a
 * checkpoint as tied, and the results file records `tied`).
 */
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { llamaLayoutModel } from './llama-layout.js';
import { modelShape } from './model-shape.js';
import { readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';
import type { WeightIndex } from '../models/index.js';

interface Biases {
  qkv: boolean;
  out: boolean;
  mlp: boolean;
}

interface LlamaVariant {
  name: string;
  family: string;
  architectures: readonly string[];
  biases(reader: ConfigReader): Biases;
  /** Sliding-window size of each layer; undefined = full causal attention. */
  windows(reader: ConfigReader, nLayers: number): Array<number | undefined>;
}

/** Qwen2 and Qwen3: layer_types when given, else sliding layers from max_window_layers on (if use_sliding_window). */
export function qwen2Windows(reader: ConfigReader, nLayers: number): Array<number | undefined> {
  const window = reader.boolean('use_sliding_window', false) ? reader.slidingWindow(4096) : undefined;
  const layerTypes = reader.layerTypes(nLayers);
  if (layerTypes !== undefined) return layerTypes.map((type) => (type === 'sliding_attention' ? window : undefined));
  const firstSliding = reader.positiveInt('max_window_layers', 28);
  return Array.from({ length: nLayers }, (_, layer) => (layer >= firstSliding ? window : undefined));
}

const LLAMA: LlamaVariant = {
  name: 'llama',
  family: 'Llama (Meta and others)',
  architectures: ['LlamaForCausalLM', 'LlamaModel'],
  biases: (reader) => {
    const attention = reader.boolean('attention_bias', false);
    return { qkv: attention, out: attention, mlp: reader.boolean('mlp_bias', false) };
  },
  windows: (_reader, nLayers) => new Array<undefined>(nLayers).fill(undefined),
};

const MISTRAL: LlamaVariant = {
  name: 'mistral',
  family: 'Mistral',
  architectures: ['MistralForCausalLM', 'MistralModel'],
  biases: () => ({ qkv: false, out: false, mlp: false }),
  // transformers' MistralConfig defaults sliding_window to 4096; null turns it off.
  windows: (reader, nLayers) => new Array<number | undefined>(nLayers).fill(reader.slidingWindow(4096)),
};

const QWEN2: LlamaVariant = {
  name: 'qwen2',
  family: 'Qwen2 (Alibaba)',
  architectures: ['Qwen2ForCausalLM', 'Qwen2Model'],
  biases: () => ({ qkv: true, out: false, mlp: false }),
  windows: qwen2Windows,
};

/** The shape config.json gives (Llama's keys; see ConfigReader.llamaStyleDims). */
function readConfigOf(variant: LlamaVariant) {
  return (config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader } => {
    const reader = new ConfigReader(config, configPath);
    const dims = reader.llamaStyleDims();
    return { shape: modelShape({ architecture: variant.name, dims, normalization: 'rmsnorm', parallelResidual: false }, reader), reader };
  };
}

function describeWith(variant: LlamaVariant) {
  return (config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec => {
    const { shape, reader } = readConfigOf(variant)(config, configPath);
    const { dims } = shape;
    const { dModel, dMlp, dHead, nHeads, nKvHeads } = dims;
    const eps = reader.positiveNumber('rms_norm_eps', 1e-6);
    const activation = readActivation(reader, 'hidden_act', 'silu');
    const rotary = readRotary(reader, dHead, dims.nCtx, { thetaKeys: ['rope_theta'], fractionKeys: ['partial_rotary_factor'], defaultFraction: 1 });
    // Llama's apply_rotary_pos_emb multiplies whole heads by cos/sin: partial rotary is not this layout.
    reader.require(
      rotary.rotaryDims === dHead,
      `partial rotary (${rotary.rotaryDims} of ${dHead} head dimensions) is not supported for ${variant.name}; its heads are rotated whole`,
    );
    const biases = variant.biases(reader);
    const windows = variant.windows(reader, dims.nLayers);
    reader.finish();

    const w = new WeightResolver(weights, configPath, ['model.', ''], 'embed_tokens.weight');
    const linear = (name: string, dIn: number, dOut: number, bias: boolean) => w.linear(name, dIn, dOut, { bias });
    const rmsNorm = (name: string) => w.rmsNorm(name, dModel, eps);

    const blocks: BlockSpec[] = windows.map((window, layer) => {
      const prefix = `layers.${layer}`;
      const attention = `${prefix}.self_attn`;
      return {
        norm1: rmsNorm(`${prefix}.input_layernorm`),
        norm2: rmsNorm(`${prefix}.post_attention_layernorm`),
        attention: {
          qkv: {
            kind: 'separate',
            q: linear(`${attention}.q_proj`, dModel, nHeads * dHead, biases.qkv),
            k: linear(`${attention}.k_proj`, dModel, nKvHeads * dHead, biases.qkv),
            v: linear(`${attention}.v_proj`, dModel, nKvHeads * dHead, biases.qkv),
          },
          out: linear(`${attention}.o_proj`, nHeads * dHead, dModel, biases.out),
          scale: 1 / Math.sqrt(dHead),
          rotary,
          ...(window !== undefined ? { window } : {}),
        },
        mlp: {
          kind: 'gated',
          gate: linear(`${prefix}.mlp.gate_proj`, dModel, dMlp, biases.mlp),
          up: linear(`${prefix}.mlp.up_proj`, dModel, dMlp, biases.mlp),
          down: linear(`${prefix}.mlp.down_proj`, dMlp, dModel, biases.mlp),
          activation,
        },
      };
    });
    return llamaLayoutModel(shape, w, reader, blocks, eps, weights.dtype);
  };
}

function createAdapter(variant: LlamaVariant): ArchitectureAdapter {
  return {
    name: variant.name,
    family: variant.family,
    architectures: variant.architectures,
    readShape: finishedShape(readConfigOf(variant)),
    describe: describeWith(variant),
  };
}

export const llamaAdapter = createAdapter(LLAMA);
export const mistralAdapter = createAdapter(MISTRAL);
export const qwen2Adapter = createAdapter(QWEN2);
