/**
 * The forward graph of `mechanisms`: the model on real prompts (the same blocks as
 * transformer-graph.ts), with, per layer, what the reference analysis's evidence needs of a real
 * run instead of hook norms:
 *   - the fraction of MLP pre-activations > 0 of every token (TransformerLens's hook_pre > 0;
 *     the gate's pre-activations for gated MLPs);
 *   - the norms of attn_out and mlp_out of every token (centered for LayerNorm, raw for RMSNorm),
 *     the targets the random-input norms are compared with;
 *   - the MLP's input (resid_mid; resid_pre in parallel-residual blocks) of a few chosen tokens,
 *     for resampling.
 *
 * Inputs:  input_ids    int64 [batch, pos]
 *          sample_rows  int64 [k]  rows of the [batch·pos] stream to return (k may be 0)
 * Outputs: blocks.{l}.mlp_active, .attn_out_norm, .mlp_out_norm  float [batch·pos]
 *          blocks.{l}.mlp_input_rows                             float [k, dModel]
 */
import type { TransformerSpec } from '../architectures/types.js';
import { buildAttention, SequenceValues } from './attention.js';
import type { ExternalDataLayout } from './external-data.js';
import { GraphContext } from './layers.js';
import { ElementType, GraphBuilder, int } from './onnx-builder.js';
import { fractionPositive, mlpWithPreActivations, vectorNorm } from './probe-graph.js';
import { embedTokens, INPUT_IDS, inputPositions } from './transformer-graph.js';

export const SAMPLE_ROWS = 'sample_rows';
export const FORWARD_OUTPUTS = ['mlp_active', 'attn_out_norm', 'mlp_out_norm', 'mlp_input_rows'] as const;
export type ForwardOutput = (typeof FORWARD_OUTPUTS)[number];

export function forwardOutputName(layer: number, output: ForwardOutput): string {
  return `blocks.${layer}.${output}`;
}

export function buildMechanismForwardGraph(spec: TransformerSpec, layout: ExternalDataLayout): { bytes: Uint8Array; nodeCount: number } {
  const g = new GraphBuilder(`resid-norms mechanisms ${spec.architecture}`);
  const ctx = new GraphContext(g, layout);
  const centered = spec.normalization === 'layernorm';
  const ids = g.addInput(INPUT_IDS, ElementType.int64, ['batch', 'pos']);
  const rows = g.addInput(SAMPLE_ROWS, ElementType.int64, ['k']);
  const { tokenShape, positions } = inputPositions(g, ids);
  const sequence = new SequenceValues(ctx, positions, tokenShape);
  let residual = embedTokens(ctx, spec, ids, positions); // [batch·pos, dModel]

  // Per-layer outputs are reduced before the next norm runs (see GraphContext.zeroAfter).
  let pending: string[] = [];
  const barrier = (name: string): string | undefined => {
    const after = pending.length > 0 ? ctx.zeroAfter(pending, name) : undefined;
    pending = [];
    return after;
  };
  const output = (value: string, dims: Array<number | string>): void => {
    g.addOutput(value, ElementType.float, dims);
    pending.push(value);
  };

  for (const [layer, block] of spec.blocks.entries()) {
    const prefix = `blocks.${layer}`;
    const attnOut = buildAttention(ctx, sequence, ctx.norm(residual, block.norm1, `${prefix}.ln1`, barrier(`${prefix}.ln1.after`)), block.attention, spec.dims, `${prefix}.attn`);
    output(vectorNorm(ctx, attnOut, centered, forwardOutputName(layer, 'attn_out_norm')), ['tokens']);
    const mlpInput = spec.parallelResidual ? residual : g.node('Add', [residual, attnOut], {}, `${prefix}.resid_mid`);
    output(g.node('Gather', [mlpInput, rows], { axis: int(0) }, forwardOutputName(layer, 'mlp_input_rows')), ['k', spec.dims.dModel]);
    const mlp = mlpWithPreActivations(ctx, ctx.norm(mlpInput, block.norm2, `${prefix}.ln2`, barrier(`${prefix}.ln2.after`)), block.mlp, `${prefix}.mlp`);
    output(fractionPositive(ctx, mlp.pre, forwardOutputName(layer, 'mlp_active')), ['tokens']);
    output(vectorNorm(ctx, mlp.out, centered, forwardOutputName(layer, 'mlp_out_norm')), ['tokens']);
    residual = spec.parallelResidual
      ? g.node('Add', [g.node('Add', [residual, attnOut]), mlp.out], {}, `${prefix}.resid_post`)
      : g.node('Add', [mlpInput, mlp.out], {}, `${prefix}.resid_post`);
  }
  return { bytes: g.toBytes(), nodeCount: g.nodeCount };
}
