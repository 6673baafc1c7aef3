/**
 * Mixtral (mistralai/Mixtral-8x7B-v0.1, -8x22B; MixtralForCausalLM), as transformers'
 * modeling_mixtral runs it: Mistral's attention (pre-RMSNorm, separate q/k/v/o projections
 * without biases, grouped-query attention scaled by 1/√head_dim, rotary over whole heads with
 * rope_theta, 1e6 by default, and `sliding_window` on every layer when set: null in the
 * released configs) and, in place of the MLP, block_sparse_moe: the router `gate` gives each
 * token num_experts_per_tok of num_local_experts experts (softmax over all router logits, the
 * top k, renormalised over those k), each expert a SwiGLU w2(silu(w1 x) · w3 x), and their
 * outputs summed with those weights (types.ts MoeMlpSpec; the graph: graph/mixture.ts).
 * Output head (logit lens only): `model.norm` (RMSNorm), and `lm_head` (untied by default; the
 * embedding when tied or when the checkpoint has no lm_head, as for Llama).
 * Ignored: router_jitter_noise (training only: transformers applies it only in training),
 * output_router_logits and router_aux_loss_coef (the training loss), attention_dropout.
 * Tensors as the Hub's checkpoints store them (block_sparse_moe.gate, experts.{e}.w1/w2/w3);
 * a checkpoint saved by transformers 5, whose experts are fused into 3-D tensors, is refused by
 * the tensor names it lacks.
 */
import { quote } from '../errors.js';
import type { WeightIndex } from '../models/index.js';
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { llamaLayoutModel } from './llama-layout.js';
import { modelShape } from './model-shape.js';
import { readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, GatedMlpSpec, HfConfig, ModelShape, RotarySpec, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';

/** Far more experts than any released mixture (Mixtral: 8; the largest open MoE models: a few hundred). */
const MAX_EXPERTS = 4096;

interface Routing {
  nExperts: number;
  topK: number;
}

/** The shape, with the rotary settings, the window and the routing checked here, before any weight is downloaded. */
function readConfig(
  config: HfConfig,
  configPath: string,
): { shape: ModelShape; reader: ConfigReader; rotary: RotarySpec; window: number | undefined; routing: Routing } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.llamaStyleDims();
  const rotary = readRotary(reader, dims.dHead, dims.nCtx, {
    thetaKeys: ['rope_theta'],
    fractionKeys: ['partial_rotary_factor'],
    defaultFraction: 1,
    defaultBase: 1e6,
  });
  // MixtralAttention multiplies whole heads by cos/sin: partial rotary is not this layout.
  reader.require(
    rotary.rotaryDims === dims.dHead,
    `partial rotary (${rotary.rotaryDims} of ${dims.dHead} head dimensions) is not supported for mixtral; its heads are rotated whole`,
  );
  const window = reader.slidingWindow(undefined);
  const nExperts = reader.positiveInt('num_local_experts', 8, MAX_EXPERTS);
  const topK = reader.positiveInt('num_experts_per_tok', 2, MAX_EXPERTS);
  reader.require(topK <= nExperts, `num_experts_per_tok ${quote(topK)} exceeds num_local_experts ${quote(nExperts)}`);
  const shape = modelShape({ architecture: 'mixtral', dims, normalization: 'rmsnorm', parallelResidual: false }, reader);
  return { shape, reader, rotary, window, routing: { nExperts, topK } };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader, rotary, window, routing } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp, dHead, nHeads, nKvHeads } = dims;
  const eps = reader.positiveNumber('rms_norm_eps', 1e-5);
  const activation = readActivation(reader, 'hidden_act', 'silu');
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['model.', ''], 'embed_tokens.weight');
  const linear = (name: string, dIn: number, dOut: number) => w.linear(name, dIn, dOut, { bias: false });
  const rmsNorm = (name: string) => w.rmsNorm(name, dModel, eps);
  const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
    const prefix = `layers.${layer}`;
    const self = `${prefix}.self_attn`;
    const moe = `${prefix}.block_sparse_moe`;
    const experts = Array.from({ length: routing.nExperts }, (_, e): GatedMlpSpec => {
      const expert = `${moe}.experts.${e}`;
      return {
        kind: 'gated',
        gate: linear(`${expert}.w1`, dModel, dMlp),
        up: linear(`${expert}.w3`, dModel, dMlp),
        down: linear(`${expert}.w2`, dMlp, dModel),
        activation,
      };
    });
    return {
      norm1: rmsNorm(`${prefix}.input_layernorm`),
      norm2: rmsNorm(`${prefix}.post_attention_layernorm`),
      attention: {
        qkv: {
          kind: 'separate',
          q: linear(`${self}.q_proj`, dModel, nHeads * dHead),
          k: linear(`${self}.k_proj`, dModel, nKvHeads * dHead),
          v: linear(`${self}.v_proj`, dModel, nKvHeads * dHead),
        },
        out: linear(`${self}.o_proj`, nHeads * dHead, dModel),
        scale: 1 / Math.sqrt(dHead),
        rotary,
        ...(window !== undefined ? { window } : {}),
      },
      mlp: { kind: 'moe', router: linear(`${moe}.gate`, dModel, routing.nExperts), experts, topK: routing.topK, normalizeTopK: true },
    };
  });
  return llamaLayoutModel(shape, w, reader, blocks, eps, weights.dtype);
}

export const mixtralAdapter: ArchitectureAdapter = {
  name: 'mixtral',
  family: 'Mixtral (Mistral AI)',
  architectures: ['MixtralForCausalLM', 'MixtralModel'],
  readShape: finishedShape(readConfig),
  describe,
};
