/**
 * OPT (facebook/opt-125m, 1.3b, 2.7b, 6.7b …): pre-LayerNorm blocks with torch nn.Linear
 * weights [out, in], separate q/k/v projections (q scaled by 1/√dHead), ReLU MLP (fc1, fc2), and
 * learned positions whose table starts at offset 2: position p reads row p + 2 of a table with
 * nCtx + 2 rows. Keys are `model.decoder.…` (OPTForCausalLM) or `decoder.…` (OPTModel).
 *
 * Refused, with the reason, because the residual stream would not mean what it means elsewhere:
 * - do_layer_norm_before: false (opt-350m): post-LayerNorm blocks renormalize the residual
 *   stream after every sublayer, so its norm is set by the LayerNorm gains, not accumulated.
 * - word_embed_proj_dim ≠ hidden_size (opt-350m): project_in/project_out around the blocks.
 * - layer_norm_elementwise_affine: false: LayerNorms without gain and bias tensors.
 *
 * Output head (logit lens only): the decoder's `final_layer_norm` (none when
 * _remove_final_layer_norm is true, as OPTDecoder leaves it out), and W_U = `embed_tokens`
 * (tied, OPT's default; `lm_head.weight` when tie_word_embeddings is false). OPT's project_out
 * (opt-350m) would follow the final norm; such models are refused above.
 */
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';
import type { WeightIndex } from '../models/index.js';

/** OPTLearnedPositionalEmbedding's offset (a fairseq leftover: rows 0 and 1 are never used). */
export const OPT_POSITION_OFFSET = 2;
/** OPT's LayerNorms use torch's default epsilon; the config has no key for it. */
const LAYER_NORM_EPS = 1e-5;

function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.evenHeadDims({
    nLayers: 'num_hidden_layers',
    dModel: 'hidden_size',
    nHeads: 'num_attention_heads',
    dMlp: 'ffn_dim',
    nCtx: 'max_position_embeddings',
  });
  const { dModel } = dims;
  reader.require(
    reader.boolean('do_layer_norm_before', true),
    'do_layer_norm_before is false (post-LayerNorm OPT, e.g. opt-350m), which is not supported: its residual stream is renormalized after every sublayer, so its norm is set by LayerNorm gains, not accumulated; use opt-125m, opt-1.3b or larger',
  );
  const projectedDim = reader.positiveInt('word_embed_proj_dim', dModel);
  reader.require(
    projectedDim === dModel,
    `word_embed_proj_dim ${projectedDim} differs from hidden_size ${dModel} (project_in/project_out, e.g. opt-350m), which is not supported`,
  );
  reader.require(
    reader.boolean('layer_norm_elementwise_affine', true),
    'layer_norm_elementwise_affine is false (LayerNorms without gain and bias), which is not supported',
  );
  return { shape: modelShape({ architecture: 'opt', dims, normalization: 'layernorm', parallelResidual: false }, reader), reader };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp } = dims;
  const activation = readActivation(reader, 'activation_function', 'relu');
  const bias = reader.boolean('enable_bias', true);
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['model.decoder.', 'decoder.', ''], 'embed_tokens.weight');
  // nn.Linear stores [out, in].
  const linear = (name: string, dIn: number, dOut: number) => w.linear(name, dIn, dOut, { bias });
  const layerNorm = (name: string) => w.layerNorm(name, dModel, LAYER_NORM_EPS);

  const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
    const prefix = `layers.${layer}`;
    const attn = `${prefix}.self_attn`;
    return {
      norm1: layerNorm(`${prefix}.self_attn_layer_norm`),
      norm2: layerNorm(`${prefix}.final_layer_norm`), // per block: the MLP's pre-norm
      attention: {
        qkv: {
          kind: 'separate',
          q: linear(`${attn}.q_proj`, dModel, dModel),
          k: linear(`${attn}.k_proj`, dModel, dModel),
          v: linear(`${attn}.v_proj`, dModel, dModel),
        },
        out: linear(`${attn}.out_proj`, dModel, dModel),
        // OPT scales q (bias included) by 1/√dHead; the same as scaling q·k.
        scale: 1 / Math.sqrt(dims.dHead),
      },
      mlp: { kind: 'dense', in: linear(`${prefix}.fc1`, dModel, dMlp), out: linear(`${prefix}.fc2`, dMlp, dModel), activation },
    };
  });
  const spec: TransformerSpec = {
    ...shape,
    tokenEmbedding: w.get('embed_tokens.weight', [dims.dVocab, dModel]),
    positionEmbedding: { weight: w.get('embed_positions.weight', [dims.nCtx + OPT_POSITION_OFFSET, dModel]), offset: OPT_POSITION_OFFSET },
    blocks,
    outputHead: describeOutputHead(w, reader, dims, {
      ...(reader.raw('_remove_final_layer_norm') === true ? {} : { finalNorm: { name: 'final_layer_norm', kind: 'layernorm' as const, eps: LAYER_NORM_EPS } }),
      embedding: 'embed_tokens.weight',
      head: 'lm_head.weight',
      tiedByDefault: true,
    }),
    weightDtype: weights.dtype,
  };
  w.finish();
  return spec;
}

export const optAdapter: ArchitectureAdapter = {
  name: 'opt',
  family: 'OPT (Meta)',
  architectures: ['OPTForCausalLM', 'OPTModel'],
  readShape: finishedShape(readConfig),
  describe,
};
