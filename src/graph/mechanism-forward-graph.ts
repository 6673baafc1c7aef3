/**
 * The forward graph of `mechanisms`: the model on real prompts (the one block recipe,
 * block-recipe.ts, read at its taps), with, per layer, what the reference analysis's evidence
 * needs of a real run instead of hook norms:
 *   - the fraction of MLP pre-activations > 0 of every token (TransformerLens's hook_pre > 0;
 *     the gate's pre-activations for gated MLPs; for a mixture of experts the router-weighted
 *     mean over the experts the token chose: the recipe's mlp.active tap);
 *   - the norms of attn_out and mlp_out of every token (the model's metric, ModelShape.convention:
 *     centered for LayerNorm, raw for RMSNorm), the targets the random-input norms are compared with;
 *   - the MLP's input (resid_mid; resid_pre in parallel-residual blocks) of a few chosen tokens,
 *     for resampling.
 *
 * Inputs:  input_ids    int64 [batch, pos]
 *          sample_rows  int64 [k]  rows of the [batch·pos] stream to return (k may be 0)
 * Outputs: blocks.{l}.mlp_active, .attn_out_norm, .mlp_out_norm  float [batch·pos]
 *          blocks.{l}.mlp_input_rows                             float [k, dModel]
 */
import type { TransformerSpec } from '../architectures/types.js';
import { buildBlock, type BlockObserver, type BlockTap } from './block-recipe.js';
import type { ExternalDataLayout } from './external-data.js';
import { GraphContext } from './graph-context.js';
import { ElementType, GraphBuilder, int } from './onnx-builder.js';
import { vectorNorm } from './probe-graph.js';
import { startFromTokens } from './stream.js';
import { buildBlockGraph, type StreamGraph } from './streamed-graphs.js';

export const SAMPLE_ROWS = 'sample_rows';
export const FORWARD_OUTPUTS = ['mlp_active', 'attn_out_norm', 'mlp_out_norm', 'mlp_input_rows'] as const;
export type ForwardOutput = (typeof FORWARD_OUTPUTS)[number];

export function forwardOutputName(layer: number, output: ForwardOutput): string {
  return `blocks.${layer}.${output}`;
}

/**
 * The observer of one block's reads: attn_out and mlp_out norms, the activation rate, the
 * sampled rows of the MLP input, each output as `layer`'s; `output` adds a graph output.
 */
function forwardReads(
  ctx: GraphContext,
  spec: Pick<TransformerSpec, 'dims' | 'convention'>,
  rows: string,
  layer: number,
  output: (value: string, dims: Array<number | string>) => void,
): BlockObserver['tap'] {
  const g = ctx.g;
  const centered = spec.convention.metric === 'centered';
  const reads: Partial<Record<BlockTap, (value: string) => void>> = {
    attn_out: (value) => output(vectorNorm(ctx, value, centered, forwardOutputName(layer, 'attn_out_norm')), ['tokens']),
    mlp_in: (value) => output(g.node('Gather', [value, rows], { axis: int(0) }, forwardOutputName(layer, 'mlp_input_rows')), ['k', spec.dims.dModel]),
    'mlp.active': (value) => output(g.node('Identity', [value], {}, forwardOutputName(layer, 'mlp_active')), ['tokens']),
    mlp_out: (value) => output(vectorNorm(ctx, value, centered, forwardOutputName(layer, 'mlp_out_norm')), ['tokens']),
  };
  return (tap, value) => reads[tap]?.(value);
}

/** Per-layer outputs, reduced before the next norm runs (see GraphContext.zeroAfter). */
function barrieredOutputs(ctx: GraphContext): {
  beforeNorm: (name: string) => string | undefined;
  output: (value: string, dims: Array<number | string>) => void;
} {
  let pending: string[] = [];
  return {
    beforeNorm: (name) => {
      const after = pending.length > 0 ? ctx.zeroAfter(pending, name) : undefined;
      pending = [];
      return after;
    },
    output: (value, dims) => {
      ctx.g.addOutput(value, ElementType.float, dims);
      pending.push(value);
    },
  };
}

export function buildMechanismForwardGraph(spec: TransformerSpec, layout: ExternalDataLayout): { bytes: Uint8Array; nodeCount: number } {
  const g = new GraphBuilder(`resid-norms mechanisms ${spec.architecture}`);
  const ctx = new GraphContext(g, layout);
  const start = startFromTokens(ctx, spec);
  const rows = g.addInput(SAMPLE_ROWS, ElementType.int64, ['k']);
  const { beforeNorm, output } = barrieredOutputs(ctx);
  let residual = start.residual; // [batch·pos, dModel]
  for (let layer = 0; layer < spec.dims.nLayers; layer += 1) {
    residual = buildBlock(ctx, start.sequence, spec, layer, residual, { beforeNorm, tap: forwardReads(ctx, spec, rows, layer, output) }).resid_post;
  }
  return { bytes: g.toBytes(), nodeCount: g.nodeCount };
}

/**
 * Block `layer` of the forward graph alone, for a streamed run (streamed-graphs.ts): resid_in
 * (and sample_rows, rows of this run's [batch·pos] stream) → resid_out and the block's outputs,
 * named as block 0's, its weights as inputs.
 */
export function buildMechanismBlockGraph(spec: TransformerSpec, layer: number): StreamGraph {
  return buildBlockGraph(
    spec,
    layer,
    (ctx) => {
      const rows = ctx.g.addInput(SAMPLE_ROWS, ElementType.int64, ['k']);
      const { beforeNorm, output } = barrieredOutputs(ctx);
      return { observer: { beforeNorm, tap: forwardReads(ctx, spec, rows, 0, output) } };
    },
    { outputsResidual: layer < spec.dims.nLayers - 1 },
  );
}
