/**
 * Phi-3, Phi-3.5 and Phi-4 (microsoft/Phi-3-mini-4k-instruct, Phi-3.5-mini-instruct, phi-4, …;
 * Phi3ForCausalLM), as transformers' modeling_phi3 runs them: the Mistral block (pre-RMSNorm,
 * grouped-query attention scaled by 1/√head_dim, SwiGLU down(silu(gate(x)) · up(x))) with two
 * fused projections: `qkv_proj` [q | k | v] and `gate_up_proj` [gate | up] (the first
 * intermediate_size rows are the gate's, as Phi3MLP's chunk(2) takes them). Rotary embeddings
 * rotate_half on the first partial_rotary_factor·head_dim features (1 by default; Phi-4-mini
 * 0.75), with rope_theta; `sliding_window`, when set, on every layer (Phi-3-mini-4k: 2047 keys,
 * as transformers' mask shows them).
 * Output head (logit lens only): `model.norm` (RMSNorm), and `lm_head` (untied by default; the
 * embedding when tied or when the checkpoint has no lm_head, as for Llama).
 * LongRoPE (rope_scaling type longrope; su and yarn in older configs, as Phi3Config renames them:
 * the 128k-context Phi-3, Phi-3.5-mini, Phi-4-mini) in its short regime: frequencies divided by
 * short_factor, cos and sin times attention_factor (√(1 + ln(max / original) / ln original) when
 * the config gives none). transformers switches to long_factor once a batch's longest sequence
 * passes original_max_position_embeddings, which would make a prompt's norms depend on the
 * prompts batched with it; the model is run at most original_max_position_embeddings tokens
 * instead (its shape's context), where every batch is in the short regime, exactly.
 * Ignored: resid_pdrop, embd_pdrop, attention_dropout (training only), attention_bias (Phi3's
 * projections never have biases, whatever it says).
 */
import type { WeightIndex } from '../models/index.js';
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { llamaLayoutModel } from './llama-layout.js';
import { modelShape } from './model-shape.js';
import { longRopeContext, readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, RotarySpec, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';

/** The shape, with the rotary settings and the sliding window checked here, before any weight is downloaded. */
function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader; rotary: RotarySpec; window: number | undefined } {
  const reader = new ConfigReader(config, configPath);
  const stated = reader.llamaStyleDims();
  const rotary = readRotary(reader, stated.dHead, stated.nCtx, {
    thetaKeys: ['rope_theta'],
    fractionKeys: ['partial_rotary_factor'],
    defaultFraction: 1,
    longRope: true,
  });
  // LongRoPE runs in its short regime only: at most original_max_position_embeddings tokens (see above).
  const dims = { ...stated, nCtx: longRopeContext(rotary, stated.nCtx) };
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
  return llamaLayoutModel(shape, w, reader, blocks, eps, weights.dtype);
}

export const phi3Adapter: ArchitectureAdapter = {
  name: 'phi3',
  family: 'Phi-3/Phi-4 (Microsoft)',
  architectures: ['Phi3ForCausalLM', 'Phi3Model'],
  readShape: finishedShape(readConfig),
  describe,
};
