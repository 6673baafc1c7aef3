/**
 * Phi-1, Phi-1.5 and Phi-2 (microsoft/phi-1, phi-1_5, phi-2; PhiForCausalLM), as transformers'
 * modeling_phi runs them: a parallel block whose attention and MLP both read one LayerNorm,
 * input_layernorm, of the block input (out = x + attn(ln(x)) + mlp(ln(x)): no resid_mid, and ln2
 * is ln1), q/k/v projections and the output projection `dense` with biases, grouped-query
 * attention when num_key_value_heads says so, attention scaled by 1/√head_dim, partial rotary
 * (rotate_half on the first partial_rotary_factor·head_dim features of each head, 0.5 by
 * default; Phi-2: 0.4, 32 of 80), and a dense MLP fc1 → gelu_new → fc2 with biases.
 * Output head (logit lens only): `final_layernorm`, and `lm_head` with its bias (untied by
 * default; `embed_tokens` when a config ties them, the bias kept).
 * qk_layernorm (false in every released Phi): a LayerNorm of each head's queries and keys
 * (q_layernorm, k_layernorm over head_dim, with biases) before rotary, as modular_phi applies it
 * per head (older transformers applied LayerNorm(head_dim) to the whole projection, which only
 * runs with one head).
 * Ignored: resid_pdrop, embd_pdrop, attention_dropout (training only). Refused: RoPE variants
 * other than default, linear and llama3.
 */
import type { WeightIndex } from '../models/index.js';
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import { readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, RotarySpec, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';

/** The shape, with the rotary settings and the refusals checked here, before any weight is downloaded. */
function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader; rotary: RotarySpec; qkLayerNorm: boolean } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.llamaStyleDims();
  const rotary = readRotary(reader, dims.dHead, dims.nCtx, { thetaKeys: ['rope_theta'], fractionKeys: ['partial_rotary_factor'], defaultFraction: 0.5 });
  const qkLayerNorm = reader.boolean('qk_layernorm', false);
  return { shape: modelShape({ architecture: 'phi', dims, normalization: 'layernorm', parallelResidual: true }, reader), reader, rotary, qkLayerNorm };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader, rotary, qkLayerNorm } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp, dHead, nHeads, nKvHeads } = dims;
  const eps = reader.positiveNumber('layer_norm_eps', 1e-5);
  const activation = readActivation(reader, 'hidden_act', 'gelu_new');
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['model.', ''], 'embed_tokens.weight');
  const linear = (name: string, dIn: number, dOut: number) => w.linear(name, dIn, dOut);
  const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
    const prefix = `layers.${layer}`;
    const self = `${prefix}.self_attn`;
    // One LayerNorm feeds attention and the MLP: the recipe computes it once (block-recipe.ts).
    const norm = w.layerNorm(`${prefix}.input_layernorm`, dModel, eps);
    return {
      norm1: norm,
      norm2: norm,
      attention: {
        qkv: {
          kind: 'separate',
          q: linear(`${self}.q_proj`, dModel, nHeads * dHead),
          k: linear(`${self}.k_proj`, dModel, nKvHeads * dHead),
          v: linear(`${self}.v_proj`, dModel, nKvHeads * dHead),
        },
        out: linear(`${self}.dense`, nHeads * dHead, dModel),
        scale: 1 / Math.sqrt(dHead),
        ...(qkLayerNorm
          ? { qkNorm: { kind: 'per-head' as const, q: w.layerNorm(`${self}.q_layernorm`, dHead, eps), k: w.layerNorm(`${self}.k_layernorm`, dHead, eps) } }
          : {}),
        rotary,
      },
      mlp: { kind: 'dense', in: linear(`${prefix}.mlp.fc1`, dModel, dMlp), out: linear(`${prefix}.mlp.fc2`, dMlp, dModel), activation },
    };
  });
  const spec: TransformerSpec = {
    ...shape,
    tokenEmbedding: w.get('embed_tokens.weight', [dims.dVocab, dModel]),
    blocks,
    outputHead: describeOutputHead(w, reader, dims, {
      finalNorm: { name: 'final_layernorm', kind: 'layernorm', eps },
      embedding: 'embed_tokens.weight',
      head: 'lm_head.weight',
      headBias: 'lm_head.bias',
      tiedByDefault: false,
    }),
    weightDtype: weights.dtype,
  };
  w.finish();
  return spec;
}

export const phiAdapter: ArchitectureAdapter = {
  name: 'phi',
  family: 'Phi-1/1.5/2 (Microsoft)',
  architectures: ['PhiForCausalLM', 'PhiModel'],
  readShape: finishedShape(readConfig),
  describe,
};
