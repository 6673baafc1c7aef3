/**
 * GPT-J (EleutherAI/gpt-j-6b; GPTJForCausalLM), as transformers' modeling_gptj runs it: a
 * parallel block whose attention and MLP both read one LayerNorm, ln_1, of the block input
 * (out = x + attn(ln_1(x)) + mlp(ln_1(x)): no resid_mid, and ln2 is ln_1), separate q/k/v/out
 * projections without biases, attention scaled by 1/√head_dim, rotary embeddings on the first
 * `rotary_dim` features of each head with interleaved pairs (rotate_every_two: features 2i and
 * 2i + 1 turn together, base 10000, which the config cannot change), a dense MLP fc_in → gelu_new
 * → fc_out with biases. No position table.
 * Output head (logit lens only): `ln_f`, and `lm_head` with its bias (untied: tie_word_embeddings
 * defaults to false; `wte` when a config ties them, the bias kept).
 * Ignored: the causal-mask buffers older checkpoints carry (attn.bias, attn.masked_bias), and the
 * config's keys for other heads (summary_*). Refused: rotary_dim null (transformers then builds
 * frequencies over n_embd, which fit a head only when there is one), an odd rotary_dim or one
 * wider than a head.
 */
import { quote } from '../errors.js';
import type { WeightIndex } from '../models/index.js';
import { readActivation } from './activations.js';
import { ConfigReader, finishedShape } from './config-reader.js';
import { modelShape } from './model-shape.js';
import { describeOutputHead } from './output-head.js';
import type { ArchitectureAdapter, BlockSpec, HfConfig, ModelShape, RotarySpec, TransformerSpec } from './types.js';
import { WeightResolver } from './weight-resolver.js';

/** GPT-J's create_sinusoidal_positions: inverse frequencies 10000^(−2i/rotary_dim), fixed. */
const ROTARY_BASE = 10000;

function readRotaryDims(reader: ConfigReader, dHead: number): RotarySpec {
  const value = reader.raw('rotary_dim');
  const rotaryDims = value === undefined ? 64 : value; // GPTJConfig's default
  const ok = typeof rotaryDims === 'number' && Number.isInteger(rotaryDims) && rotaryDims >= 2 && rotaryDims % 2 === 0 && rotaryDims <= dHead;
  reader.require(ok, `rotary_dim is ${quote(value ?? null)}; expected an even integer from 2 to the head width ${dHead}`);
  return { rotaryDims: ok ? rotaryDims : 2, base: ROTARY_BASE, pairing: 'interleaved' };
}

/** The shape, and the rotary settings (checked here, before any weight is downloaded). */
function readConfig(config: HfConfig, configPath: string): { shape: ModelShape; reader: ConfigReader; rotary: RotarySpec } {
  const reader = new ConfigReader(config, configPath);
  const dims = reader.evenHeadDims({ nLayers: 'n_layer', dModel: 'n_embd', nHeads: 'n_head', dMlp: 'n_inner', mlpRatio: 4, nCtx: 'n_positions' });
  const rotary = readRotaryDims(reader, dims.dHead);
  return { shape: modelShape({ architecture: 'gptj', dims, normalization: 'layernorm', parallelResidual: true }, reader), reader, rotary };
}

function describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec {
  const { shape, reader, rotary } = readConfig(config, configPath);
  const { dims } = shape;
  const { dModel, dMlp, dHead } = dims;
  const eps = reader.positiveNumber('layer_norm_epsilon', 1e-5);
  const activation = readActivation(reader, 'activation_function', 'gelu_new');
  reader.finish();

  const w = new WeightResolver(weights, configPath, ['transformer.', ''], 'wte.weight');
  const linear = (name: string, dIn: number, dOut: number, bias: boolean) => w.linear(name, dIn, dOut, { bias });
  const blocks: BlockSpec[] = Array.from({ length: dims.nLayers }, (_, layer) => {
    const prefix = `h.${layer}`;
    // One LayerNorm feeds attention and the MLP: the recipe computes it once (block-recipe.ts).
    const norm = w.layerNorm(`${prefix}.ln_1`, dModel, eps);
    return {
      norm1: norm,
      norm2: norm,
      attention: {
        qkv: {
          kind: 'separate',
          q: linear(`${prefix}.attn.q_proj`, dModel, dModel, false),
          k: linear(`${prefix}.attn.k_proj`, dModel, dModel, false),
          v: linear(`${prefix}.attn.v_proj`, dModel, dModel, false),
        },
        out: linear(`${prefix}.attn.out_proj`, dModel, dModel, false),
        scale: 1 / Math.sqrt(dHead),
        rotary,
      },
      mlp: { kind: 'dense', in: linear(`${prefix}.mlp.fc_in`, dModel, dMlp, true), out: linear(`${prefix}.mlp.fc_out`, dMlp, dModel, true), activation },
    };
  });
  const spec: TransformerSpec = {
    ...shape,
    tokenEmbedding: w.get('wte.weight', [dims.dVocab, dModel]),
    blocks,
    outputHead: describeOutputHead(w, reader, dims, {
      finalNorm: { name: 'ln_f', kind: 'layernorm', eps },
      embedding: 'wte.weight',
      head: 'lm_head.weight',
      headBias: 'lm_head.bias',
      tiedByDefault: false,
    }),
    weightDtype: weights.dtype,
  };
  w.finish();
  return spec;
}

export const gptjAdapter: ArchitectureAdapter = {
  name: 'gptj',
  family: 'GPT-J (EleutherAI)',
  architectures: ['GPTJForCausalLM', 'GPTJModel'],
  readShape: finishedShape(readConfig),
  describe,
};
