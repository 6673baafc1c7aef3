/**
 * GPT-NeoX (EleutherAI/pythia-*, gpt-neox-20b): pre-LayerNorm blocks, nn.Linear weights
 * [out, in], one query_key_value projection whose output is grouped by head
 * ([q₀ k₀ v₀ | q₁ k₁ v₁ | …], each dHead wide), rotary embeddings on the first
 * rotary_pct·dHead features of each head, attention scaled by 1/√dHead, and (by default)
 * parallel residual: x + attn(ln1(x)) + mlp(ln2(x)), so there is no resid_mid.
 * Output head (logit lens only): `final_layer_norm`, and W_U = `embed_out` (untied, the default;
 * `embed_in` when tie_word_embeddings is true). Ignored: the buffers older checkpoints carry
 * (attention.bias, attention.masked_bias, attention.rotary_emb.inv_freq).
 */
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import { readRotary } from './rope-config.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';
import type { WeightIndex } from '../models/index.js';

function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.evenHeadDims({
    nLayers: 'num_hidden_layers',
    dModel: 'hidden_size',
    nHeads: 'num_attention_heads',
    dMlp: 'intermediate_size',
    nCtx: 'max_position_embeddings',
  });
  const parallelResidual = reader.boolean('use_parallel_residual', true);
  return { shape: modelShape({ architecture: 'gpt_neox', dims, normalization: 'layernorm', parallelResidual }, reader), reader };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp, dHead } = dims;
  const eps = reader.positiveNumber('layer_norm_eps', 1e-5);
  const activation = readActivation(reader, 'hidden_act', 'gelu');
  const attentionBias = reader.boolean('attention_bias', true);
  const rotary = readRotary(reader, dHead, dims.nCtx, { thetaKeys: ['rotary_emb_base', 'rope_theta'], fractionKeys: ['rotary_pct'], defaultFraction: 0.25 });
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['gpt_neox.', ''], 'embed_in.weight');
  const linear = (name: string, dIn: number, dOut: number, bias = true) => w.linear(name, dIn, dOut, { bias });
  const layerNorm = (name: string) => w.layerNorm(name, dModel, eps);

  const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
    const prefix = `layers.${layer}`;
    return {
      norm1: layerNorm(`${prefix}.input_layernorm`),
      norm2: layerNorm(`${prefix}.post_attention_layernorm`),
      attention: {
        qkv: { kind: 'fused-per-head', linear: linear(`${prefix}.attention.query_key_value`, dModel, 3 * dModel, attentionBias) },
        out: linear(`${prefix}.attention.dense`, dModel, dModel, attentionBias),
        scale: 1 / Math.sqrt(dHead),
        rotary,
      },
      mlp: {
        kind: 'dense',
        in: linear(`${prefix}.mlp.dense_h_to_4h`, dModel, dMlp),
        out: linear(`${prefix}.mlp.dense_4h_to_h`, dMlp, dModel),
        activation,
      },
    };
  });
  const spec: TransformerSpec = {
    ...shape,
    tokenEmbedding: w.get('embed_in.weight', [dims.dVocab, dModel]),
    blocks,
    outputHead: describeOutputHead(w, reader, dims, {
      finalNorm: { name: 'final_layer_norm', kind: 'layernorm', eps },
      embedding: 'embed_in.weight',
      head: 'embed_out.weight',
      tiedByDefault: false,
    }),
    weightDtype: weights.dtype,
  };
  w.finish();
  return spec;
}

export const gptNeoxAdapter: ArchitectureAdapter = {
  name: 'gpt_neox',
  family: 'GPT-NeoX / Pythia (EleutherAI)',
  architectures: ['GPTNeoXForCausalLM', 'GPTNeoXModel'],
  readShape: finishedShape(readConfig),
  describe,
};
