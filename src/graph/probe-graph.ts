/**
 * The probe graph of `mechanisms`: every block's MLP and attention W_OV applied to given
 * vectors (random Gaussian ones, or residual-stream vectors sampled from a real run), with the
 * block's own input normalisation, so only per-sample numbers leave ONNX Runtime.
 *
 * Weights are the stored ones (external data), and TransformerLens's default processing is
 * applied to the outputs instead, which is exact: with LayerNorm folded and writing weights
 * centered, TransformerLens's MLP of a normalised vector is the stored MLP of the LayerNorm'd
 * vector minus its mean over dModel, and its Σ_h W_OV^h x is the stored Σ_h (LN(x) without the
 * bias) W_V^h W_O^h, minus its mean (LN's bias and b_V go into b_O when folded).
 * RMSNorm models are not centered by TransformerLens, so their norms are raw (the model's
 * ModelShape.convention decides). A block with post-sublayer norms (Gemma 2) adds its MLP's
 * output and Σ_h W_OV^h x through them: the probes pass them through too.
 *
 * Inputs:  x.{l}  float [n, dModel], one per layer (the same tensor may be fed to all)
 * Outputs: blocks.{l}.mlp_norm    float [n]  ‖MLP(norm2(x))‖ (centered for LayerNorm, raw for RMSNorm)
 *          blocks.{l}.mlp_active  float [n]  fraction of MLP pre-activations > 0 (the gate's, for gated MLPs)
 *          blocks.{l}.ov_norm     float [n]  ‖Σ_h W_OV^h · norm1(x)‖ (no biases; same metric)
 */
import type { BlockSpec, ModelDims, QkvProjection, TransformerSpec } from '../architectures/types.js';
import { applyNorm, buildMlp } from './block-recipe.js';
import type { ExternalDataLayout } from './external-data.js';
import { GraphContext, type WeightSource } from './graph-context.js';
import { ElementType, GraphBuilder, int, ints } from './onnx-builder.js';
import type { WeightInput } from './streamed-graphs.js';

export const PROBE_OUTPUTS = ['mlp_norm', 'mlp_active', 'ov_norm'] as const;
export type ProbeOutput = (typeof PROBE_OUTPUTS)[number];

export function probeInputName(layer: number): string {
  return `x.${layer}`;
}

export function probeOutputName(layer: number, output: ProbeOutput): string {
  return `blocks.${layer}.${output}`;
}

export interface BuiltProbeGraph {
  bytes: Uint8Array;
  nodeCount: number;
  /** With weights as inputs (a streamed run's one-layer graph): the inputs and the tensors they are fed from. */
  weightInputs: WeightInput[];
}

/** The norm the reference analysis's "norm" is for this normalisation: centered for LayerNorm, raw for RMSNorm. */
export function vectorNorm(ctx: GraphContext, x: string, centered: boolean, name: string): string {
  const g = ctx.g;
  const value = centered ? g.node('Sub', [x, g.node('ReduceMean', [x], { axes: ints([-1]), keepdims: int(1) })]) : x;
  return g.node('ReduceL2', [value], { axes: ints([-1]), keepdims: int(0) }, name);
}

export { fractionPositive } from './graph-context.js';

/** The value projection's weight (no bias), [in, out] or [out, in] as stored: the v part of a fused q/k/v. */
function valueWeight(ctx: GraphContext, qkv: QkvProjection, dims: ModelDims): { weight: string; transB: number } {
  const g = ctx.g;
  const { nHeads, nKvHeads, dHead, dModel } = dims;
  const slice = (value: string, start: number, end: number, axis: number) =>
    g.node('Slice', [value, g.intConstant([start]), g.intConstant([end]), g.intConstant([axis])]);
  switch (qkv.kind) {
    case 'fused': {
      // output = [q | k | v]
      const { weight, layout } = qkv.linear;
      const start = (nHeads + nKvHeads) * dHead;
      const end = start + nKvHeads * dHead;
      return { weight: slice(ctx.weight(weight), start, end, layout === 'in_out' ? 1 : 0), transB: layout === 'out_in' ? 1 : 0 };
    }
    case 'fused-per-head': {
      // output = [q₀ k₀ v₀ | q₁ k₁ v₁ | …]; stored as nn.Linear [out, in] (GPT-NeoX)
      const { weight, layout } = qkv.linear;
      if (layout !== 'out_in') throw new Error('fused-per-head q/k/v is stored [out, in]');
      const perHead = g.node('Reshape', [ctx.weight(weight), g.intConstant([nHeads, 3, dHead, dModel])]);
      const values = g.node('Gather', [perHead, g.intConstant([2], [])], { axis: int(1) }); // [heads, dHead, dModel]
      return { weight: g.node('Reshape', [values, g.intConstant([nHeads * dHead, dModel])]), transB: 1 };
    }
    case 'separate':
      return { weight: ctx.weight(qkv.v.weight), transB: qkv.v.layout === 'out_in' ? 1 : 0 };
  }
}

/** Σ_h W_OV^h x for every row: x·W_V (clamped as the model clamps v; kv heads repeated for grouped-query attention) ·W_O, no biases. x: [n, dModel] */
export function summedOv(ctx: GraphContext, x: string, block: BlockSpec, dims: ModelDims, name: string): string {
  const g = ctx.g;
  const { nHeads, nKvHeads, dHead } = dims;
  const value = valueWeight(ctx, block.attention.qkv, dims);
  let v = g.node('Gemm', [x, value.weight], { transB: int(value.transB) }, `${name}.v`); // [n, nKvHeads·dHead]
  // The values as the heads read them: clamped where the model clamps them (OLMo's clip_qkv).
  if (block.attention.qkvClip !== undefined) v = ctx.clamp(v, block.attention.qkvClip, `${name}.v_clipped`);
  const groups = nHeads / nKvHeads;
  if (groups > 1) {
    // query head h reads kv head ⌊h / groups⌋
    const split = g.node('Reshape', [v, g.intConstant([-1, nKvHeads, 1, dHead])]);
    v = g.node('Reshape', [g.node('Tile', [split, g.intConstant([1, 1, groups, 1])]), g.intConstant([-1, nHeads * dHead])]);
  }
  const { bias: _bias, ...out } = block.attention.out;
  return ctx.linear(v, out, `${name}.ov`);
}

/** Normalisation weights without their bias (TransformerLens folds it into b_V, then b_O). */
function withoutBias<T extends { bias?: unknown }>(weights: T): Omit<T, 'bias'> {
  const { bias: _bias, ...rest } = weights;
  return rest;
}

export function buildProbeGraph(
  spec: Pick<TransformerSpec, 'architecture' | 'blocks' | 'dims' | 'convention'>,
  source: ExternalDataLayout | WeightSource,
): BuiltProbeGraph {
  const g = new GraphBuilder(`resid-norms probes ${spec.architecture}`);
  const ctx = new GraphContext(g, source);
  const centered = spec.convention.metric === 'centered';
  let previous: string[] = [];
  for (const [layer, block] of spec.blocks.entries()) {
    const prefix = `blocks.${layer}`;
    const x = g.addInput(probeInputName(layer), ElementType.float, ['n', spec.dims.dModel]);
    // One layer after the other: without this, ONNX Runtime may run every layer's [n, dMlp] at once.
    const after = previous.length > 0 ? ctx.zeroAfter(previous, `${prefix}.after`) : undefined;
    const mlp = buildMlp(ctx, applyNorm(ctx, x, block.norm2, `${prefix}.ln2`, after), block.mlp, `${prefix}.mlp`);
    const ov = summedOv(ctx, applyNorm(ctx, x, block.norm1 && withoutBias(block.norm1), `${prefix}.ln1`, after), block, spec.dims, `${prefix}.attn`);
    const outputs = {
      mlp_norm: vectorNorm(ctx, applyNorm(ctx, mlp.out, block.norm2Post, `${prefix}.ln2_post`), centered, probeOutputName(layer, 'mlp_norm')),
      mlp_active: ctx.g.node('Identity', [mlp.active], {}, probeOutputName(layer, 'mlp_active')),
      ov_norm: vectorNorm(ctx, applyNorm(ctx, ov, block.norm1Post, `${prefix}.ln1_post`), centered, probeOutputName(layer, 'ov_norm')),
    };
    for (const name of Object.values(outputs)) g.addOutput(name, ElementType.float, ['n']);
    previous = Object.values(outputs);
  }
  const live = new Set(g.inputNames);
  return { bytes: g.toBytes(), nodeCount: g.nodeCount, weightInputs: ctx.weightInputs.filter(({ input }) => live.has(input)) };
}

/**
 * Block `layer`'s probes alone, its weights as inputs, named as block 0's (x.0 in, blocks.0.* out),
 * so every block of one structure gives the same graph: for a streamed run, one layer at a time.
 */
export function buildLayerProbeGraph(spec: TransformerSpec, layer: number): BuiltProbeGraph {
  return buildProbeGraph({ ...spec, blocks: [spec.blocks[layer]!] }, { kind: 'inputs' });
}
