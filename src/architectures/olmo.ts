/**
 * OLMo (allenai/OLMo-1B-hf, -7B-hf, -7B-0424-hf; OlmoForCausalLM) and OLMo-2
 * (allenai/OLMo-2-0425-1B, OLMo-2-1124-7B / -13B, -0325-32B; Olmo2ForCausalLM), as transformers'
 * modeling_olmo / modeling_olmo2 run them, both on Llama's tensor names (llama-layout.ts) with
 * rotary over whole heads, grouped-query attention and a SwiGLU MLP without biases:
 *
 * - OLMo: pre-norm blocks whose LayerNorms have neither weight nor bias (OlmoLayerNorm:
 *   F.layer_norm in float32 with eps 1e-5, fixed in the code; the final `model.norm` too), so
 *   the checkpoint has no norm tensors; and, when clip_qkv is set, q, k and v clamped to
 *   [−clip_qkv, clip_qkv] right after their projections.
 * - OLMo-2: RMSNorm (rms_norm_eps) on each sub-block's output instead of its input:
 *   x + post_attention_layernorm(attn(x)), then + post_feedforward_layernorm(mlp(·)), so attention
 *   and the MLP read the residual stream as it is and `attn_out` / `mlp_out` are after those
 *   norms; and q_norm / k_norm, RMSNorms over the whole q and k projections (gains of
 *   [heads·head_dim] and [kv heads·head_dim]), before rotary. Olmo2Config drops clip_qkv, so it
 *   is ignored here too. (TransformerLens's OLMo-2 conversion appears to place these norms before
 *   the sub-blocks; the tool follows transformers, which matches the released checkpoints.)
 *
 * attention_bias (default false) puts biases on q/k/v/o. tie_word_embeddings defaults to false
 * (OLMo-1B-hf sets it true); a checkpoint without lm_head is taken as tied. Refused: partial
 * rotary, unsupported RoPE types (rope-config.ts), a clip_qkv that is not a positive number.
 */
import { quote } from '../errors.js';
import type { WeightIndex } from '../models/index.js';
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { llamaLayoutAttention, llamaLayoutMlp, llamaLayoutQkNorm } from './llama-layout.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead, type OutputHeadRecipe } from './output-head.js';
import { readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelDims, ModelShape, NormWeights, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';

/** OlmoLayerNorm's epsilon: a constant of the modeling code, not a config key. */
const OLMO_LAYER_NORM_EPS = 1e-5;

/** What a variant reads of config.json besides the shared keys. */
interface VariantSettings {
  /** OLMo's clip_qkv. */
  qkvClip?: number;
  /** OLMo-2's rms_norm_eps. */
  eps: number;
}

interface OlmoVariant {
  name: string;
  family: string;
  architectures: readonly string[];
  shape(reader: ConfigReader, dims: ModelDims): ModelShape;
  settings(reader: ConfigReader): VariantSettings;
  /** Block `layer`'s norms and what its attention adds (the clip, the q/k norms). */
  block(
    w: WeightResolver,
    dims: ModelDims,
    layer: number,
    settings: VariantSettings,
  ): Pick<BlockSpec, 'norm1' | 'norm2' | 'norm1Post' | 'norm2Post'> & Pick<BlockSpec['attention'], 'qkvClip' | 'qkNorm'>;
  finalNorm(settings: VariantSettings): OutputHeadRecipe['finalNorm'];
}

/** OlmoLayerNorm: no weight, no bias. */
const parameterFreeLayerNorm: NormWeights = { kind: 'layernorm', eps: OLMO_LAYER_NORM_EPS };

/** clip_qkv: a positive number, or null / absent for none. */
function readClip(reader: ConfigReader): number | undefined {
  const value = reader.raw('clip_qkv');
  if (value === undefined || value === null) return undefined;
  const ok = typeof value === 'number' && Number.isFinite(value) && value > 0;
  reader.require(ok, `clip_qkv is ${quote(value)}; expected a positive number or null`);
  return ok ? value : undefined;
}

const OLMO: OlmoVariant = {
  name: 'olmo',
  family: 'OLMo (AI2)',
  architectures: ['OlmoForCausalLM', 'OlmoModel'],
  shape: (reader, dims) =>
    modelShape({ architecture: 'olmo', dims, normalization: 'layernorm', parallelResidual: false, convention: { parameterFree: true } }, reader),
  settings: (reader) => {
    const qkvClip = readClip(reader);
    return { eps: OLMO_LAYER_NORM_EPS, ...(qkvClip !== undefined ? { qkvClip } : {}) };
  },
  block: (_w, _dims, _layer, { qkvClip }) => ({ norm1: parameterFreeLayerNorm, norm2: parameterFreeLayerNorm, ...(qkvClip !== undefined ? { qkvClip } : {}) }),
  finalNorm: () => ({ kind: 'layernorm', eps: OLMO_LAYER_NORM_EPS, parameterFree: true }),
};

const OLMO2: OlmoVariant = {
  name: 'olmo2',
  family: 'OLMo-2 (AI2)',
  architectures: ['Olmo2ForCausalLM', 'Olmo2Model'],
  shape: (reader, dims) => modelShape({ architecture: 'olmo2', dims, normalization: 'rmsnorm', normPlacement: 'post', parallelResidual: false }, reader),
  settings: (reader) => ({ eps: reader.positiveNumber('rms_norm_eps', 1e-5) }),
  block: (w, dims, layer, { eps }) => ({
    norm1Post: w.rmsNorm(`layers.${layer}.post_attention_layernorm`, dims.dModel, eps),
    norm2Post: w.rmsNorm(`layers.${layer}.post_feedforward_layernorm`, dims.dModel, eps),
    qkNorm: llamaLayoutQkNorm(w, layer, dims, 'projection', eps),
  }),
  finalNorm: ({ eps }) => ({ name: 'norm', kind: 'rmsnorm', eps }),
};

function readConfigOf(variant: OlmoVariant) {
  return (config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader } => {
    const reader = new ConfigReader(config, configPath);
    return { shape: variant.shape(reader, reader.llamaStyleDims()), reader };
  };
}

function describeWith(variant: OlmoVariant) {
  return (config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec => {
    const { shape, reader } = readConfigOf(variant)(config, configPath);
    const { dims } = shape;
    const { dModel, dHead } = dims;
    const activation = readActivation(reader, 'hidden_act', 'silu');
    const rotary = readRotary(reader, dHead, dims.nCtx, { thetaKeys: ['rope_theta'], fractionKeys: ['partial_rotary_factor'], defaultFraction: 1 });
    reader.require(
      rotary.rotaryDims === dHead,
      `partial rotary (${rotary.rotaryDims} of ${dHead} head dimensions) is not supported for ${variant.name}; its heads are rotated whole`,
    );
    const bias = reader.boolean('attention_bias', false);
    const settings = variant.settings(reader);
    reader.finish();

    const w = new WeightResolver(weights, configPath, ['model.', ''], 'embed_tokens.weight');
    const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
      const { qkvClip, qkNorm, ...norms } = variant.block(w, dims, layer, settings);
      return {
        ...norms,
        attention: {
          ...llamaLayoutAttention(w, layer, dims, { qkv: bias, out: bias }),
          scale: 1 / Math.sqrt(dHead),
          ...(qkvClip !== undefined ? { qkvClip } : {}),
          ...(qkNorm !== undefined ? { qkNorm } : {}),
          rotary,
        },
        mlp: llamaLayoutMlp(w, layer, dims, activation),
      };
    });
    const spec: TransformerSpec = {
      ...shape,
      tokenEmbedding: w.get('embed_tokens.weight', [dims.dVocab, dModel]),
      blocks,
      outputHead: describeOutputHead(w, reader, dims, {
        finalNorm: variant.finalNorm(settings),
        embedding: 'embed_tokens.weight',
        head: 'lm_head.weight',
        tiedByDefault: false,
        absentHeadIsTied: true,
      }),
      weightDtype: weights.dtype,
    };
    w.finish();
    return spec;
  };
}

function createAdapter(variant: OlmoVariant): ArchitectureAdapter {
  return {
    name: variant.name,
    family: variant.family,
    architectures: variant.architectures,
    readShape: finishedShape(readConfigOf(variant)),
    describe: describeWith(variant),
  };
}

export const olmoAdapter = createAdapter(OLMO);
export const olmo2Adapter = createAdapter(OLMO2);
