/**
 * The tensor names most modern decoder checkpoints share with Llama's (Mistral, Qwen, OLMo, Phi-3, Mixtral):
 * `layers.{l}.self_attn.{q,k,v,o}_proj` and `layers.{l}.mlp.{gate,up,down}_proj`, stored
 * [out, in] as nn.Linear does, and what each adapter builds from them. Adapters add their
 * family's norms and quirks around these parts.
 */
import type { ConfigReader } from './config-reader.js';
import { describeOutputHead } from './output-head.js';
import type { Activation, AttentionSpec, BlockSpec, MlpSpec, ModelDims, ModelShape, NormWeights, QkNorm, TransformerSpec } from './types.js';
import type { WeightResolver } from './weight-resolver.js';

export interface ProjectionBiases {
  /** q_proj, k_proj, v_proj. */
  qkv: boolean;
  /** o_proj. */
  out: boolean;
}

/** Block `layer`'s separate q/k/v projections and o_proj. */
export function llamaLayoutAttention(w: WeightResolver, layer: number, dims: ModelDims, biases: ProjectionBiases): Pick<AttentionSpec, 'qkv' | 'out'> {
  const { dModel, nHeads, nKvHeads, dHead } = dims;
  const self = `layers.${layer}.self_attn`;
  return {
    qkv: {
      kind: 'separate',
      q: w.linear(`${self}.q_proj`, dModel, nHeads * dHead, { bias: biases.qkv }),
      k: w.linear(`${self}.k_proj`, dModel, nKvHeads * dHead, { bias: biases.qkv }),
      v: w.linear(`${self}.v_proj`, dModel, nKvHeads * dHead, { bias: biases.qkv }),
    },
    out: w.linear(`${self}.o_proj`, nHeads * dHead, dModel, { bias: biases.out }),
  };
}

/**
 * Block `layer`'s `self_attn.q_norm` and `self_attn.k_norm` (RMSNorm): per head, gains of
 * [dHead] (Qwen3, Gemma 3), or over the whole projection, gains of [nHeads·dHead] and
 * [nKvHeads·dHead] (OLMo-2). `gainOffset` as WeightResolver.rmsNorm's (Gemma 3's 1 + w).
 */
export function llamaLayoutQkNorm(w: WeightResolver, layer: number, dims: ModelDims, kind: QkNorm['kind'], eps: number, gainOffset?: number): QkNorm {
  const self = `layers.${layer}.self_attn`;
  const width = (heads: number) => (kind === 'per-head' ? dims.dHead : heads * dims.dHead);
  const norm = (name: string, heads: number): NormWeights => w.rmsNorm(`${self}.${name}`, width(heads), eps, gainOffset);
  return { kind, q: norm('q_norm', dims.nHeads), k: norm('k_norm', dims.nKvHeads) };
}

/** Block `layer`'s gated MLP down(act(gate(x)) · up(x)). */
export function llamaLayoutMlp(w: WeightResolver, layer: number, dims: ModelDims, activation: Activation, bias = false): MlpSpec {
  const { dModel, dMlp } = dims;
  const mlp = `layers.${layer}.mlp`;
  return {
    kind: 'gated',
    gate: w.linear(`${mlp}.gate_proj`, dModel, dMlp, { bias }),
    up: w.linear(`${mlp}.up_proj`, dModel, dMlp, { bias }),
    down: w.linear(`${mlp}.down_proj`, dMlp, dModel, { bias }),
    activation,
  };
}

/**
 * The whole model around `blocks`, in Llama's names: `embed_tokens`, the final RMSNorm `norm` and
 * `lm_head` (the embedding when a checkpoint leaves it out); then checks that every tensor was used.
 */
export function llamaLayoutModel(
  shape: ModelShape,
  w: WeightResolver,
  reader: ConfigReader,
  blocks: BlockSpec[],
  eps: number,
  weightDtype: string,
): TransformerSpec {
  const { dims } = shape;
  const spec: TransformerSpec = {
    ...shape,
    tokenEmbedding: w.get('embed_tokens.weight', [dims.dVocab, dims.dModel]),
    blocks,
    outputHead: describeOutputHead(w, reader, dims, {
      finalNorm: { name: 'norm', kind: 'rmsnorm', eps },
      embedding: 'embed_tokens.weight',
      head: 'lm_head.weight',
      tiedByDefault: false,
      absentHeadIsTied: true,
    }),
    weightDtype,
  };
  w.finish();
  return spec;
}
