/**
 * The one block recipe: every graph that runs a model (measure's, mechanisms' forward pass,
 * block ranges for streamed runs) builds its blocks here, and reads what it needs at the
 * block's taps, the graph's equivalent of TransformerLens's hook points, instead of wiring the
 * block again. The probe graph applies the same sub-recipes (the MLP, the norms) to given vectors.
 *
 * A block, as the description says (types.ts BlockSpec, ModelShape):
 *   sequential:  mid = x + post1(attn(norm1(x)));   out = mid + post2(mlp(norm2(mid)))
 *   parallel:    out = x + post1(attn(norm1(x))) + post2(mlp(norm2(x)))
 * where a norm the model lacks is the identity (no norm1/norm2 with post-only norms, no
 * post1/post2 with pre-only ones).
 */
import type { BlockSpec, MlpSpec, ModelDims, NormWeights } from '../architectures/types.js';
import { buildAttentionParts, type SequenceValues } from './attention.js';
import { fractionPositive, type GraphContext } from './graph-context.js';
import { buildMixture } from './mixture.js';

/**
 * Every tap, in the order a block produces them, with TransformerLens's hook name. Values are
 * [batch·pos, width] unless said otherwise.
 */
export const BLOCK_TAPS = [
  /** hook_resid_pre: the block's input (block 0: the embeddings as the model uses them, e.g. Gemma's × √d_model). */
  'resid_pre',
  /** ln1.hook_normalized: attention's input (resid_pre itself when the block has no norm1). */
  'ln1.normalized',
  /** attn.hook_q / hook_k / hook_v: [batch, pos, heads, dHead], before rotary. */
  'attn.q',
  'attn.k',
  'attn.v',
  /** attn.hook_rot_q / hook_rot_k: after rotary (q and k again without it). */
  'attn.rot_q',
  'attn.rot_k',
  /** attn.hook_attn_scores: scaled, soft-capped, masked scores, shaped as the pattern. */
  'attn.scores',
  /** attn.hook_pattern: [batch, nHeads, pos, pos], or [batch, kvHeads, groups, pos, pos] with grouped-query attention. */
  'attn.pattern',
  /** attn.hook_z: [batch·pos, nHeads·dHead], the heads' outputs before W_O. */
  'attn.z',
  /** The attention module's output z·W_O + b_O, before a post-attention norm (TransformerLens has no hook here). */
  'attn.out',
  /** hook_attn_out: what attention adds to the residual stream (after ln1_post when the block has it). */
  'attn_out',
  /** hook_resid_mid: sequential blocks only. */
  'resid_mid',
  /** hook_mlp_in: the residual the MLP's norm reads (resid_mid; resid_pre in parallel blocks). */
  'mlp_in',
  /** ln2.hook_normalized: the MLP's input. */
  'ln2.normalized',
  /** Mixtures of experts only: [batch·pos, nExperts] each token's weight of every expert (0 where not chosen). */
  'mlp.routing',
  /** mlp.hook_pre: [batch·pos, dMlp] pre-activations (the gate's for gated MLPs); not for mixtures (each expert has its own). */
  'mlp.pre',
  /** mlp.hook_pre_linear: gated MLPs only, the up projection [batch·pos, dMlp]. */
  'mlp.pre_linear',
  /** mlp.hook_post: [batch·pos, dMlp], the hidden layer W_out reads; not for mixtures. */
  'mlp.post',
  /** [batch·pos]: the fraction of pre-activations > 0 (TransformerLens's hook_pre > 0); mixtures: the router-weighted mean over the chosen experts. */
  'mlp.active',
  /** The MLP module's output, before a post-MLP norm. */
  'mlp.out',
  /** hook_mlp_out: what the MLP adds to the residual stream (after ln2_post when the block has it). */
  'mlp_out',
  /** hook_resid_post. */
  'resid_post',
] as const;
export type BlockTap = (typeof BLOCK_TAPS)[number];

/** Taps only some blocks have. */
type OptionalTap = 'resid_mid' | 'mlp.routing' | 'mlp.pre' | 'mlp.pre_linear' | 'mlp.post';
export type BlockTaps = Record<Exclude<BlockTap, OptionalTap>, string> & Partial<Record<OptionalTap, string>>;

/** What a caller does while the block is built; both are optional. */
export interface BlockObserver {
  /** Called at each tap as soon as its value exists, in BLOCK_TAPS order (a value may come under two taps). */
  tap?(tap: BlockTap, value: string): void;
  /**
   * A scalar zero the norm about to run must wait for (GraphContext.zeroAfter over what the
   * caller made of earlier taps), or undefined: so reductions run, and free their inputs, in place.
   */
  beforeNorm?(name: string): string | undefined;
}

/** The parts of a model description the recipe reads. */
export interface BlockModel {
  dims: ModelDims;
  parallelResidual: boolean;
  blocks: readonly BlockSpec[];
}

export interface MlpParts {
  /** Mixtures: each token's weight of every expert, [n, nExperts]. */
  routing?: string;
  /** Pre-activations (the gate's for gated MLPs), [n, dMlp]; absent for mixtures. */
  pre?: string;
  /** Gated MLPs: the up projection, [n, dMlp]. */
  preLinear?: string;
  /** The hidden layer W_out reads, [n, dMlp]; absent for mixtures. */
  post?: string;
  /** [n]: the fraction of pre-activations > 0 (mixtures: the router-weighted mean over the chosen experts). */
  active: string;
  /** [n, dModel] */
  out: string;
}

/**
 * The MLP of x [n, dModel] (already normalized): dense act(x·W_in + b_in)·W_out + b_out, gated
 * down(act(gate(x)) · up(x)), or a mixture of such experts (mixture.ts).
 */
export function buildMlp(ctx: GraphContext, x: string, mlp: MlpSpec, name: string): MlpParts {
  if (mlp.kind === 'moe') {
    const { routing, out, active } = buildMixture(ctx, x, mlp, name, (rows, expert, label) => {
      const parts = buildMlp(ctx, rows, expert, label);
      return { pre: parts.pre!, out: parts.out };
    });
    return { routing, active, out };
  }
  if (mlp.kind === 'dense') {
    const { pre, post } = ctx.linearActivation(x, mlp.in, mlp.activation, { pre: `${name}.pre`, post: `${name}.post` });
    return { pre, post, active: fractionPositive(ctx, pre, `${name}.active`), out: ctx.linear(post, mlp.out, `${name}.out`) };
  }
  const pre = ctx.linear(x, mlp.gate, `${name}.gate_pre`);
  const preLinear = ctx.linear(x, mlp.up, `${name}.up`);
  const post = ctx.g.node('Mul', [ctx.activation(pre, mlp.activation, `${name}.gate_act`), preLinear], {}, `${name}.post`);
  return { pre, preLinear, post, active: fractionPositive(ctx, pre, `${name}.active`), out: ctx.linear(post, mlp.down, `${name}.out`) };
}

/** norm(x), or x itself without a norm; `after` (a scalar zero) is waited for either way. */
export function applyNorm(ctx: GraphContext, x: string, norm: NormWeights | undefined, name: string, after?: string): string {
  if (norm !== undefined) return ctx.norm(x, norm, name, after);
  return after === undefined ? x : ctx.g.node('Add', [x, after], {}, `${name}.after`);
}

/** Whether two norms are one and the same (GPT-J and Phi feed attention and MLP from one LayerNorm). */
function sameNorm(a: NormWeights | undefined, b: NormWeights | undefined): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** Block `layer` of `model` on the stream `residPre` [batch·pos, dModel]; returns every tap. */
export function buildBlock(
  ctx: GraphContext,
  sequence: SequenceValues,
  model: BlockModel,
  layer: number,
  residPre: string,
  observer: BlockObserver = {},
): BlockTaps {
  const g = ctx.g;
  const block = model.blocks[layer]!;
  const prefix = `blocks.${layer}`;
  const tap = (name: BlockTap, value: string): string => {
    observer.tap?.(name, value);
    return value;
  };
  const norm = (x: string, weights: NormWeights | undefined, name: string) =>
    applyNorm(ctx, x, weights, `${prefix}.${name}`, observer.beforeNorm?.(`${prefix}.${name}.after`));

  tap('resid_pre', residPre);
  const ln1 = tap('ln1.normalized', norm(residPre, block.norm1, 'ln1'));
  const attention = buildAttentionParts(ctx, sequence, ln1, block.attention, model.dims, `${prefix}.attn`);
  tap('attn.q', attention.q);
  tap('attn.k', attention.k);
  tap('attn.v', attention.v);
  tap('attn.rot_q', attention.rotQ);
  tap('attn.rot_k', attention.rotK);
  tap('attn.scores', attention.scores);
  tap('attn.pattern', attention.pattern);
  tap('attn.z', attention.z);
  tap('attn.out', attention.out);
  const attnOut = tap('attn_out', block.norm1Post ? norm(attention.out, block.norm1Post, 'ln1_post') : attention.out);
  const residMid = model.parallelResidual ? undefined : tap('resid_mid', g.node('Add', [residPre, attnOut], {}, `${prefix}.resid_mid`));
  const mlpIn = tap('mlp_in', residMid ?? residPre);
  // A parallel block whose MLP reads the very norm attention read (GPT-J, Phi) computes it once.
  const ln2 = tap('ln2.normalized', model.parallelResidual && sameNorm(block.norm1, block.norm2) ? ln1 : norm(mlpIn, block.norm2, 'ln2'));
  const mlp = buildMlp(ctx, ln2, block.mlp, `${prefix}.mlp`);
  if (mlp.routing !== undefined) tap('mlp.routing', mlp.routing);
  if (mlp.pre !== undefined) tap('mlp.pre', mlp.pre);
  if (mlp.preLinear !== undefined) tap('mlp.pre_linear', mlp.preLinear);
  if (mlp.post !== undefined) tap('mlp.post', mlp.post);
  tap('mlp.active', mlp.active);
  tap('mlp.out', mlp.out);
  const mlpOut = tap('mlp_out', block.norm2Post ? norm(mlp.out, block.norm2Post, 'ln2_post') : mlp.out);
  const residPost = tap(
    'resid_post',
    residMid === undefined
      ? g.node('Add', [g.node('Add', [residPre, attnOut]), mlpOut], {}, `${prefix}.resid_post`)
      : g.node('Add', [residMid, mlpOut], {}, `${prefix}.resid_post`),
  );
  return {
    resid_pre: residPre,
    'ln1.normalized': ln1,
    'attn.q': attention.q,
    'attn.k': attention.k,
    'attn.v': attention.v,
    'attn.rot_q': attention.rotQ,
    'attn.rot_k': attention.rotK,
    'attn.scores': attention.scores,
    'attn.pattern': attention.pattern,
    'attn.z': attention.z,
    'attn.out': attention.out,
    attn_out: attnOut,
    ...(residMid !== undefined ? { resid_mid: residMid } : {}),
    mlp_in: mlpIn,
    'ln2.normalized': ln2,
    ...(mlp.routing !== undefined ? { 'mlp.routing': mlp.routing } : {}),
    ...(mlp.pre !== undefined ? { 'mlp.pre': mlp.pre } : {}),
    ...(mlp.preLinear !== undefined ? { 'mlp.pre_linear': mlp.preLinear } : {}),
    ...(mlp.post !== undefined ? { 'mlp.post': mlp.post } : {}),
    'mlp.active': mlp.active,
    'mlp.out': mlp.out,
    mlp_out: mlpOut,
    resid_post: residPost,
  };
}

/** Blocks from … to − 1 of a range. */
export interface BlockRange {
  from: number;
  to: number;
}

/**
 * Blocks range.from … range.to − 1 on `residual` (the stream entering block range.from): each
 * block's taps go to observerFor(layer), and `afterBlock` sees them once the block is built.
 * Returns the stream leaving the last block. A whole model is the range 0 … nLayers.
 */
export function buildBlocks(
  ctx: GraphContext,
  sequence: SequenceValues,
  model: BlockModel,
  range: BlockRange,
  residual: string,
  observerFor: (layer: number) => BlockObserver = () => ({}),
  afterBlock?: (layer: number, taps: BlockTaps) => void,
): string {
  const { from, to } = range;
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= model.blocks.length)) {
    throw new RangeError(`blocks ${from}…${to - 1} are not a range of the model's ${model.blocks.length} blocks`);
  }
  let stream = residual;
  for (let layer = from; layer < to; layer += 1) {
    const taps = buildBlock(ctx, sequence, model, layer, stream, observerFor(layer));
    afterBlock?.(layer, taps);
    stream = taps.resid_post;
  }
  return stream;
}
