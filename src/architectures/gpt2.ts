/**
 * GPT-2 (openai-community/gpt2…gpt2-xl, distilgpt2): pre-LayerNorm blocks, learned positions,
 * Conv1D weights stored [in, out], one fused c_attn projection [dModel, 3·dModel] = [q | k | v],
 * gelu_new MLP. The causal-mask buffers `attn.bias` / `attn.masked_bias` are ignored.
 * Output head (logit lens only): `ln_f`, and W_U = `wte` (tied; `lm_head.weight` when
 * tie_word_embeddings is false).
 */
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';
import type { WeightIndex } from '../models/index.js';

function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.evenHeadDims({ nLayers: 'n_layer', dModel: 'n_embd', nHeads: 'n_head', dMlp: 'n_inner', mlpRatio: 4, nCtx: ['n_positions', 'n_ctx'] });
  return { shape: modelShape({ architecture: 'gpt2', dims, normalization: 'layernorm', parallelResidual: false }, reader), reader };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp } = dims;
  const eps = reader.positiveNumber('layer_norm_epsilon', 1e-5);
  const activation = readActivation(reader, 'activation_function', 'gelu_new');
  const scaleByHeadDim = reader.boolean('scale_attn_weights', true);
  const scaleByLayer = reader.boolean('scale_attn_by_inverse_layer_idx', false);
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['transformer.', ''], 'wte.weight');
  const conv1d = (name: string, dIn: number, dOut: number) => w.linear(name, dIn, dOut, { layout: 'in_out' });
  const layerNorm = (name: string) => w.layerNorm(name, dModel, eps);

  const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
    const prefix = `h.${layer}`;
    const scale = (scaleByHeadDim ? 1 / Math.sqrt(dims.dHead) : 1) / (scaleByLayer ? layer + 1 : 1);
    return {
      norm1: layerNorm(`${prefix}.ln_1`),
      norm2: layerNorm(`${prefix}.ln_2`),
      attention: {
        qkv: { kind: 'fused', linear: conv1d(`${prefix}.attn.c_attn`, dModel, 3 * dModel) },
        out: conv1d(`${prefix}.attn.c_proj`, dModel, dModel),
        scale,
      },
      mlp: {
        kind: 'dense',
        in: conv1d(`${prefix}.mlp.c_fc`, dModel, dMlp),
        out: conv1d(`${prefix}.mlp.c_proj`, dMlp, dModel),
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

export const gpt2Adapter: ArchitectureAdapter = {
  name: 'gpt2',
  family: 'GPT-2 (OpenAI)',
  architectures: ['GPT2LMHeadModel', 'GPT2Model', 'GPT2DoubleHeadsModel'],
  readShape: finishedShape(readConfig),
  describe,
};
