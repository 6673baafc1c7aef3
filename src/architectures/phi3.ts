/**
 * Phi-3 and Phi-4 (microsoft/Phi-3-mini-4k-instruct, Phi-3-medium-4k-instruct, phi-4, …;
 * Phi3ForCausalLM), as transformers' modeling_phi3 runs them: the Mistral block (pre-RMSNorm,
 * grouped-query attention scaled by 1/√head_dim, SwiGLU down(silu(gate(x)) · up(x))) with two
 * fused projections: `qkv_proj` [q | k | v] and `gate_up_proj` [gate | up] (the first
 * intermediate_size rows are the gate's, as Phi3MLP's chunk(2) takes them). Rotary embeddings
 * rotate_half on the first partial_rotary_factor·head_dim features (1 by default; Phi-4-mini
 * 0.75), with rope_theta; `sliding_window`, when set, on every layer (Phi-3-mini-4k: 2047 keys,
 * as transformers' mask shows them).
 * Output head (logit lens only): `model.norm` (RMSNorm), and `lm_head` (untied by default; the
 * embedding when tied or when the checkpoint has no lm_head, as for Llama).
 * Ignored: resid_pdrop, embd_pdrop, attention_dropout (training only), attention_bias (Phi3's
 * projections never have biases, whatever it says), original_max_position_embeddings (read only
 * by longrope). Refused: rope_scaling of type longrope (su, yarn in older configs), the
 * long-context Phi-3 and Phi-3.5 models' rotary, which switches its factors with the length of
 * the batch.
 */
import { quote } from '../errors.js';
import type { WeightIndex } from '../models/index.js';
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import { readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, RotarySpec, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';

/** Phi3Config maps these older rope_scaling types to longrope. */
const LONGROPE_TYPES = ['longrope', 'su', 'yarn'];

/** The rope_scaling type a config names, if any (rope_type, or type in older configs). */
function ropeScalingType(reader: ConfigReader): unknown {
  const scaling = reader.raw('rope_scaling') ?? reader.raw('rope_parameters');
  if (typeof scaling !== 'object' || scaling === null) return undefined;
  const dict = scaling as Record<string, unknown>;
  return dict.rope_type ?? dict.type;
}

/** The shape, with the rotary settings and the sliding window checked here, before any weight is downloaded. */
function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader; rotary: RotarySpec; window: number | undefined } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.llamaStyleDims();
  const type = ropeScalingType(reader);
  const longrope = typeof type === 'string' && LONGROPE_TYPES.includes(type);
  reader.require(
    !longrope,
    `rope_scaling type ${quote(type)} (LongRoPE, of the 128k-context Phi-3 and Phi-3.5 models) is not supported: its rotary factors switch with the batch's length; the 4k-context models (rope_scaling null) are`,
  );
  // Refused above: its placeholder is never used (reader.finish throws first).
  const rotary = longrope ? { rotaryDims: dims.dHead, base: 1 } : readRotary(reader, dims.dHead, dims.nCtx, { thetaKeys: ['rope_theta'], fractionKeys: ['partial_rotary_factor'], defaultFraction: 1 });
  const window = reader.slidingWindow(undefined);
  return { shape: modelShape({ architecture: 'phi3', dims, normalization: 'rmsnorm', parallelResidual: false }, reader), reader, rotary, window };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader, rotary, window } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp, dHead, nHeads, nKvHeads } = dims;
  const eps = reader.positiveNumber('rms_norm_eps', 1e-5);
  const activation = readActivation(reader, 'hidden_act', 'silu');
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['model.', ''], 'embed_tokens.weight');
  const rmsNorm = (name: string) => w.rmsNorm(name, dModel, eps);
  const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
    const prefix = `layers.${layer}`;
    const [gate, up] = w.splitLinear(`${prefix}.mlp.gate_up_proj`, dModel, [dMlp, dMlp], { bias: false });
    return {
      norm1: rmsNorm(`${prefix}.input_layernorm`),
      norm2: rmsNorm(`${prefix}.post_attention_layernorm`),
      attention: {
        qkv: { kind: 'fused', linear: w.linear(`${prefix}.self_attn.qkv_proj`, dModel, (nHeads + 2 * nKvHeads) * dHead, { bias: false }) },
        out: w.linear(`${prefix}.self_attn.o_proj`, nHeads * dHead, dModel, { bias: false }),
        scale: 1 / Math.sqrt(dHead),
        rotary,
        ...(window !== undefined ? { window } : {}),
      },
      mlp: { kind: 'gated', gate: gate!, up: up!, down: w.linear(`${prefix}.mlp.down_proj`, dMlp, dModel, { bias: false }), activation },
    };
  });
  const spec: TransformerSpec = {
    ...shape,
    tokenEmbedding: w.get('embed_tokens.weight', [dims.dVocab, dModel]),
    blocks,
    outputHead: describeOutputHead(w, reader, dims, { finalNorm: { name: 'norm', kind: 'rmsnorm', eps }, embedding: 'embed_tokens.weight', head: 'lm_head.weight', tiedByDefault: false, absentHeadIsTied: true }),
    weightDtype: weights.dtype,
  };
  w.finish();
  return spec;
}

export const phi3Adapter: ArchitectureAdapter = {
  name: 'phi3',
  family: 'Phi-3/Phi-4 (Microsoft)',
  architectures: ['Phi3ForCausalLM', 'Phi3Model'],
  readShape: finishedShape(readConfig),
  describe,
};
