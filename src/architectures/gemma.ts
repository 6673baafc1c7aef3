/**
 * Gemma (google/gemma-2b, -7b; GemmaForCausalLM) and Gemma 2 (google/gemma-2-2b, -9b, -27b;
 * Gemma2ForCausalLM), as transformers' modeling_gemma / modeling_gemma2 run them:
 *
 * - RMSNorm everywhere, computed in float32 with the gain 1 + w (the stored weight is w; the
 *   description's TensorRef carries the offset, so weights and mechanisms see 1 + w too).
 * - Embeddings × √hidden_size in float32 (transformers multiplies by torch.tensor(√d, dtype of
 *   the hidden states): exact in a float32 run; a bfloat16 run would round it, 55.4256 → 55.5
 *   for 3072). resid_pre of block 0 is the scaled embedding; the tied W_U is the unscaled one.
 * - GeGLU MLP down(gelu_tanh(gate(x)) · up(x)). Gemma 1's released configs say
 *   `"hidden_act": "gelu"` (the exact erf form), but the models were trained with the tanh
 *   approximation, which transformers 4.39–4.47 and TransformerLens apply: the tool follows the
 *   model as trained, reads `hidden_activation` when a config gives it, and ignores `hidden_act`.
 * - head_dim set apart from hidden_size / heads (256 by default; gemma-7b: 16 × 256 > 3072),
 *   multi-query or grouped-query attention (num_key_value_heads), rotary over whole heads.
 * - Gemma 2 only: "sandwich" norms (post_attention_layernorm and post_feedforward_layernorm on
 *   each sub-block's output before the residual add; pre_feedforward_layernorm before the MLP),
 *   attention scores scaled by query_pre_attn_scalar^−½ and soft-capped
 *   (attn_logit_softcapping), a sliding window on the layers layer_types names (by default every
 *   even layer, as transformers' `not layer_idx % 2`), and soft-capped logits
 *   (final_logit_softcapping), which only the logit lens reads.
 *
 * - Gemma 3 (google/gemma-3-1b-pt; model_type gemma3_text, Gemma3ForCausalLM): Gemma 2's
 *   sandwich norms and query_pre_attn_scalar, plus RMSNorms (1 + w) of each head's queries and
 *   keys before rotary (`self_attn.q_norm`, `k_norm`, gains of [head_dim]); local (sliding) and
 *   global layers from layer_types, else every sliding_window_pattern-th layer (default 6)
 *   global; global layers rotate with rope_theta (default 1e6) and rope_scaling, local ones with
 *   rope_local_base_freq (default 10000) unscaled; no soft-caps unless the config sets them.
 *   The multimodal checkpoints (model_type gemma3, text_config nested) are another model_type.
 *
 * Output head (logit lens only): `model.norm` (RMSNorm, 1 + w), and W_U = `embed_tokens`
 * (tie_word_embeddings defaults to true; an untied `lm_head.weight` when the config says false
 * and the checkpoint has it). Refused: use_bidirectional_attention (embedding models, not
 * causal), partial rotary.
 */
import { quote } from '../errors.js';
import type { WeightIndex } from '../models/index.js';
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import { readRotary } from './rope-config.js';
import { llamaLayoutQkNorm } from './llama-layout.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelDims, ModelShape, NormPlacement, RotarySpec, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';

/** Gemma's RMSNorm multiplies by 1 + w. */
const GAIN_OFFSET = 1;

interface AttentionSettings {
  scale: number;
  scoreSoftCap?: number;
  /** Sliding window of each layer; undefined = full causal attention. */
  windows: Array<number | undefined>;
  /** Rotary settings of each layer (Gemma 3: local and global bases); absent: one for all, from rope_theta and rope_scaling. */
  rotaries?: RotarySpec[];
}

interface GemmaVariant {
  name: string;
  family: string;
  architectures: readonly string[];
  placement: NormPlacement;
  /** Tensor names (under `layers.{l}.`) of the norms the placement has. */
  norms: { norm1: string; norm2: string; norm1Post?: string; norm2Post?: string };
  attention(reader: ConfigReader, dims: ModelDims): AttentionSettings;
  logitSoftCap(reader: ConfigReader): number | undefined;
  /** Gemma 3: RMSNorms (1 + w) of each head's queries and keys before rotary (`self_attn.q_norm`, `k_norm`). */
  qkNorm?: boolean;
}

/** A soft-cap from the config: a positive number, null for none, `fallback` when absent. */
function softCap(reader: ConfigReader, key: string, fallback: number | undefined): number | undefined {
  const value = reader.raw(key);
  if (value === null) return undefined;
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && Number.isFinite(value) && value > 0;
  reader.require(ok, `${key} is ${quote(value)}; expected a positive number or null`);
  return ok ? value : undefined;
}

const GEMMA: GemmaVariant = {
  name: 'gemma',
  family: 'Gemma (Google)',
  architectures: ['GemmaForCausalLM', 'GemmaModel'],
  placement: 'pre',
  norms: { norm1: 'input_layernorm', norm2: 'post_attention_layernorm' },
  attention: (_reader, dims) => ({ scale: 1 / Math.sqrt(dims.dHead), windows: new Array<undefined>(dims.nLayers).fill(undefined) }),
  logitSoftCap: () => undefined,
};

const GEMMA2: GemmaVariant = {
  name: 'gemma2',
  family: 'Gemma 2 (Google)',
  architectures: ['Gemma2ForCausalLM', 'Gemma2Model'],
  placement: 'sandwich',
  norms: { norm1: 'input_layernorm', norm1Post: 'post_attention_layernorm', norm2: 'pre_feedforward_layernorm', norm2Post: 'post_feedforward_layernorm' },
  attention: (reader, dims) => {
    const window = reader.slidingWindow(4096);
    const types =
      reader.layerTypes(dims.nLayers) ?? Array.from({ length: dims.nLayers }, (_, layer) => (layer % 2 === 0 ? 'sliding_attention' : 'full_attention'));
    const scoreSoftCap = softCap(reader, 'attn_logit_softcapping', 50);
    return {
      scale: 1 / Math.sqrt(reader.positiveNumber('query_pre_attn_scalar', 256)),
      ...(scoreSoftCap !== undefined ? { scoreSoftCap } : {}),
      windows: types.map((type) => (type === 'sliding_attention' ? window : undefined)),
    };
  },
  logitSoftCap: (reader) => softCap(reader, 'final_logit_softcapping', 30),
};

/** Gemma 3's layer types: layer_types, else sliding but every sliding_window_pattern-th layer (default 6), as Gemma3TextConfig. */
function gemma3LayerTypes(reader: ConfigReader, nLayers: number): Array<'full_attention' | 'sliding_attention'> {
  const given = reader.layerTypes(nLayers);
  if (given !== undefined) return given;
  const pattern = reader.positiveInt('sliding_window_pattern', 6);
  return Array.from({ length: nLayers }, (_, layer) => ((layer + 1) % pattern !== 0 ? 'sliding_attention' : 'full_attention'));
}

const ROPE_KEYS = { thetaKeys: ['rope_theta'], fractionKeys: ['partial_rotary_factor'], defaultFraction: 1 } as const;

/**
 * Gemma 3's rotary settings per layer: global (full-attention) layers rope_theta (default 1e6)
 * with rope_scaling; local (sliding) layers rope_local_base_freq (default 10000) without
 * scaling, as Gemma3TextModel builds its two rotary embeddings. transformers 5 writes both as
 * rope_parameters keyed by layer type, read when a config has that form.
 */
function gemma3Rotaries(reader: ConfigReader, dims: ModelDims, types: ReadonlyArray<'full_attention' | 'sliding_attention'>): RotarySpec[] {
  const byType = reader.raw('rope_parameters');
  const keyed = typeof byType === 'object' && byType !== null && !Array.isArray(byType) && ('full_attention' in byType || 'sliding_attention' in byType);
  let full: RotarySpec;
  let local: RotarySpec;
  if (keyed) {
    const entry = (type: string) => ({ key: `rope_parameters.${type}`, value: (byType as Record<string, unknown>)[type] });
    full = readRotary(reader, dims.dHead, dims.nCtx, { ...ROPE_KEYS, defaultBase: 1_000_000, dict: entry('full_attention') });
    local = readRotary(reader, dims.dHead, dims.nCtx, {
      ...ROPE_KEYS,
      thetaKeys: ['rope_local_base_freq'],
      defaultBase: 10_000,
      dict: entry('sliding_attention'),
    });
  } else {
    full = readRotary(reader, dims.dHead, dims.nCtx, { ...ROPE_KEYS, defaultBase: 1_000_000 });
    local = { rotaryDims: full.rotaryDims, base: reader.positiveNumber('rope_local_base_freq', 10_000) };
  }
  return types.map((type) => (type === 'sliding_attention' ? local : full));
}

const GEMMA3: GemmaVariant = {
  name: 'gemma3_text',
  family: 'Gemma 3 (Google), text',
  architectures: ['Gemma3ForCausalLM', 'Gemma3TextModel'],
  placement: 'sandwich',
  norms: GEMMA2.norms,
  attention: (reader, dims) => {
    const window = reader.slidingWindow(4096);
    const types = gemma3LayerTypes(reader, dims.nLayers);
    const scoreSoftCap = softCap(reader, 'attn_logit_softcapping', undefined);
    return {
      scale: 1 / Math.sqrt(reader.positiveNumber('query_pre_attn_scalar', 256)),
      ...(scoreSoftCap !== undefined ? { scoreSoftCap } : {}),
      windows: types.map((type) => (type === 'sliding_attention' ? window : undefined)),
      rotaries: gemma3Rotaries(reader, dims, types),
    };
  },
  logitSoftCap: (reader) => softCap(reader, 'final_logit_softcapping', undefined),
  qkNorm: true,
};

function readConfigOf(variant: GemmaVariant) {
  return (config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader } => {
    const reader = new ConfigReader(config, configPath);
    const dims = reader.llamaStyleDims(256);
    reader.require(
      reader.boolean('use_bidirectional_attention', false) === false,
      'use_bidirectional_attention is true (a bidirectional embedding model, not a causal language model), which is not supported',
    );
    const shape = modelShape(
      {
        architecture: variant.name,
        dims,
        normalization: 'rmsnorm',
        normPlacement: variant.placement,
        parallelResidual: false,
        convention: { gain: '(1 + w)' },
      },
      reader,
    );
    return { shape, reader };
  };
}

function describeWith(variant: GemmaVariant) {
  return (config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec => {
    const { shape, reader } = readConfigOf(variant)(config, configPath);
    const { dims } = shape;
    const { dModel, dMlp, dHead, nHeads, nKvHeads } = dims;
    const eps = reader.positiveNumber('rms_norm_eps', 1e-6);
    // Gemma 1 configs' hidden_act says "gelu", but the models use the tanh approximation (see above).
    const activation = readActivation(reader, 'hidden_activation', 'gelu_pytorch_tanh');
    const bias = reader.boolean('attention_bias', false);
    const attention = variant.attention(reader, dims);
    const rotaries = attention.rotaries ?? new Array<RotarySpec>(dims.nLayers).fill(readRotary(reader, dHead, dims.nCtx, ROPE_KEYS));
    const partial = rotaries.find((rotary) => rotary.rotaryDims !== dHead);
    reader.require(
      partial === undefined,
      `partial rotary (${partial?.rotaryDims} of ${dHead} head dimensions) is not supported for ${variant.name}; its heads are rotated whole`,
    );
    const logitSoftCap = variant.logitSoftCap(reader);
    reader.finish();

    const w = new WeightResolver(weights, configPath, ['model.', ''], 'embed_tokens.weight');
    const linear = (name: string, dIn: number, dOut: number, withBias: boolean) => w.linear(name, dIn, dOut, { bias: withBias });
    const rmsNorm = (name: string) => w.rmsNorm(name, dModel, eps, GAIN_OFFSET);
    const blocks: BlockSpec[] = attention.windows.map((window, layer) => {
      const prefix = `layers.${layer}`;
      const { norm1, norm2, norm1Post, norm2Post } = variant.norms;
      const self = `${prefix}.self_attn`;
      return {
        norm1: rmsNorm(`${prefix}.${norm1}`),
        ...(norm1Post ? { norm1Post: rmsNorm(`${prefix}.${norm1Post}`) } : {}),
        norm2: rmsNorm(`${prefix}.${norm2}`),
        ...(norm2Post ? { norm2Post: rmsNorm(`${prefix}.${norm2Post}`) } : {}),
        attention: {
          qkv: {
            kind: 'separate',
            q: linear(`${self}.q_proj`, dModel, nHeads * dHead, bias),
            k: linear(`${self}.k_proj`, dModel, nKvHeads * dHead, bias),
            v: linear(`${self}.v_proj`, dModel, nKvHeads * dHead, bias),
          },
          out: linear(`${self}.o_proj`, nHeads * dHead, dModel, bias),
          scale: attention.scale,
          ...(attention.scoreSoftCap !== undefined ? { scoreSoftCap: attention.scoreSoftCap } : {}),
          ...(variant.qkNorm ? { qkNorm: llamaLayoutQkNorm(w, layer, dims, 'per-head', eps, GAIN_OFFSET) } : {}),
          rotary: rotaries[layer]!,
          ...(window !== undefined ? { window } : {}),
        },
        mlp: {
          kind: 'gated',
          gate: linear(`${prefix}.mlp.gate_proj`, dModel, dMlp, false),
          up: linear(`${prefix}.mlp.up_proj`, dModel, dMlp, false),
          down: linear(`${prefix}.mlp.down_proj`, dMlp, dModel, false),
          activation,
        },
      };
    });
    const spec: TransformerSpec = {
      ...shape,
      // The embeddings as the model uses them: × √hidden_size (float32), applied to looked-up rows only.
      tokenEmbedding: w.get('embed_tokens.weight', [dims.dVocab, dModel], { scale: Math.sqrt(dModel) }),
      blocks,
      outputHead: describeOutputHead(w, reader, dims, {
        finalNorm: { name: 'norm', kind: 'rmsnorm', eps, gainOffset: GAIN_OFFSET },
        embedding: 'embed_tokens.weight',
        head: 'lm_head.weight',
        tiedByDefault: true,
        absentHeadIsTied: true,
        ...(logitSoftCap !== undefined ? { logitSoftCap } : {}),
      }),
      weightDtype: weights.dtype,
    };
    w.finish();
    return spec;
  };
}

function createAdapter(variant: GemmaVariant): ArchitectureAdapter {
  return {
    name: variant.name,
    family: variant.family,
    architectures: variant.architectures,
    readShape: finishedShape(readConfigOf(variant)),
    describe: describeWith(variant),
  };
}

export const gemmaAdapter = createAdapter(GEMMA);
export const gemma2Adapter = createAdapter(GEMMA2);
export const gemma3TextAdapter = createAdapter(GEMMA3);
