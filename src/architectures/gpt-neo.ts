/**
 * GPT-Neo (EleutherAI/gpt-neo-125M/1.3B/2.7B): GPT-2's pre-LayerNorm block with torch
 * nn.Linear weights [out, in], separate q/k/v projections without bias, attention scores NOT
 * scaled by 1/√dHead, and layers that alternate between global and local attention
 * (`attention_types`; a local layer lets a token see itself and the window_size − 1 tokens
 * before it, as Hugging Face's mask `tril(ones) xor tril(ones, −window_size)` does).
 * The mask buffers `attn.attention.bias` / `masked_bias` of old checkpoints are ignored.
 * Output head (logit lens only): `ln_f`, and W_U = `wte` (tied; `lm_head.weight` when
 * tie_word_embeddings is false).
 */
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';
import { quote } from '../errors.js';
import type { WeightIndex } from '../models/index.js';

type AttentionKind = 'global' | 'local';
const ATTENTION_KINDS: readonly string[] = ['global', 'local'];
/** Hugging Face's default when a config has no attention_types. */
const DEFAULT_ATTENTION_TYPES = [[['global', 'local'], 12]];
const MAX_LAYERS = 1 << 16;

/**
 * Expand attention_types, e.g. [[["global", "local"], 12]] → global, local, … (24 layers), as
 * GPTNeoConfig.expand_attention_types_params does; a string says what is wrong.
 */
export function expandAttentionTypes(value: unknown): AttentionKind[] | string {
  const expected = 'expected a list of [[kinds…], repeat] with kinds "global" or "local", e.g. [[["global", "local"], 12]]';
  if (!Array.isArray(value) || value.length === 0) return `attention_types is ${quote(value)}; ${expected}`;
  const layers: AttentionKind[] = [];
  for (const item of value) {
    const [kinds, repeat] = Array.isArray(item) && item.length === 2 ? item : [undefined, undefined];
    const valid =
      Array.isArray(kinds) &&
      kinds.length > 0 &&
      kinds.every((kind) => ATTENTION_KINDS.includes(kind as string)) &&
      Number.isInteger(repeat) &&
      (repeat as number) > 0;
    if (!valid) return `attention_types entry ${quote(item)} is invalid; ${expected}`;
    // A config asking for more layers than any model has must not exhaust memory here.
    if (layers.length + (repeat as number) * kinds.length > MAX_LAYERS) return `attention_types describes more than ${MAX_LAYERS} layers`;
    for (let i = 0; i < (repeat as number); i += 1) layers.push(...(kinds as AttentionKind[]));
  }
  return layers;
}

interface NeoConfig {
  shape: ModelShape;
  reader: ConfigReader;
  /** Attention kind of each layer. */
  attentionLayers: AttentionKind[];
  windowSize: number;
}

function readConfig(config: HfConfig, configPath: string): NeoConfig {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.evenHeadDims({
    nLayers: ['num_layers', 'num_hidden_layers'],
    dModel: 'hidden_size',
    nHeads: ['num_heads', 'num_attention_heads'],
    dMlp: 'intermediate_size',
    mlpRatio: 4,
    nCtx: 'max_position_embeddings',
  });
  const { nLayers } = dims;
  const windowSize = reader.positiveInt('window_size', 256);

  const expanded = expandAttentionTypes(reader.raw('attention_types') ?? DEFAULT_ATTENTION_TYPES);
  let attentionLayers: AttentionKind[] = [];
  if (typeof expanded === 'string') reader.require(false, expanded);
  else {
    attentionLayers = expanded;
    reader.require(expanded.length === nLayers, `attention_types gives ${expanded.length} layers but num_layers is ${nLayers}; they must agree`);
    // Saved configs repeat the expansion as attention_layers; a disagreeing copy means a broken config.
    const saved = reader.raw('attention_layers');
    reader.require(
      saved === undefined || saved === null || (Array.isArray(saved) && saved.length === expanded.length && saved.every((kind, i) => kind === expanded[i])),
      `attention_layers ${quote(saved, 80)} disagrees with attention_types ${quote(reader.raw('attention_types'), 80)}`,
    );
  }
  const shape = modelShape({ architecture: 'gpt_neo', dims, normalization: 'layernorm', parallelResidual: false }, reader);
  return { shape, reader, attentionLayers, windowSize };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader, attentionLayers, windowSize } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp } = dims;
  const eps = reader.positiveNumber('layer_norm_epsilon', 1e-5);
  const activation = readActivation(reader, 'activation_function', 'gelu_new');
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['transformer.', ''], 'wte.weight');
  // nn.Linear stores [out, in].
  const linear = (name: string, dIn: number, dOut: number, bias: boolean) => w.linear(name, dIn, dOut, { bias });
  const layerNorm = (name: string) => w.layerNorm(name, dModel, eps);

  const blocks: BlockSpec[] = attentionLayers.map((kind, layer) => {
    const prefix = `h.${layer}`;
    const attn = `${prefix}.attn.attention`;
    return {
      norm1: layerNorm(`${prefix}.ln_1`),
      norm2: layerNorm(`${prefix}.ln_2`),
      attention: {
        qkv: {
          kind: 'separate',
          q: linear(`${attn}.q_proj`, dModel, dModel, false),
          k: linear(`${attn}.k_proj`, dModel, dModel, false),
          v: linear(`${attn}.v_proj`, dModel, dModel, false),
        },
        out: linear(`${attn}.out_proj`, dModel, dModel, true),
        scale: 1, // GPT-Neo does not divide q·k by √dHead
        ...(kind === 'local' ? { window: windowSize } : {}),
      },
      mlp: {
        kind: 'dense',
        in: linear(`${prefix}.mlp.c_fc`, dModel, dMlp, true),
        out: linear(`${prefix}.mlp.c_proj`, dMlp, dModel, true),
        activation,
      },
    };
  });
  const spec: TransformerSpec = {
    ...shape,
    tokenEmbedding: w.get('wte.weight', [dims.dVocab, dModel]),
    positionEmbedding: { weight: w.get('wpe.weight', [dims.nCtx, dModel]), offset: 0 },
    blocks,
    outputHead: describeOutputHead(w, reader, dims, {
      finalNorm: { name: 'ln_f', kind: 'layernorm', eps },
      embedding: 'wte.weight',
      head: 'lm_head.weight',
      tiedByDefault: true,
    }),
    weightDtype: weights.dtype,
  };
  w.finish();
  return spec;
}

export const gptNeoAdapter: ArchitectureAdapter = {
  name: 'gpt_neo',
  family: 'GPT-Neo (EleutherAI)',
  architectures: ['GPTNeoForCausalLM', 'GPTNeoModel'],
  readShape: finishedShape(readConfig),
  describe,
};
