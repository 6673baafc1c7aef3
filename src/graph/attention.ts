/**
 * Causal self-attention for every supported variant: fused, per-head-fused or separate q/k/v
 * projections; clamped q/k/v (clip_qkv); norms of the queries and keys, per head or over the
 * whole projection; grouped-query attention; rotary embeddings (rotate_half or interleaved pairs,
 * partial rotary); soft-capped scores; local (windowed) attention. Right padding needs no attention
 * mask: the causal mask already keeps real tokens from seeing the padding after them.
 */
import type { AttentionSpec, ModelDims, NormWeights, QkNorm, RotarySpec } from '../architectures/types.js';
import type { GraphContext } from './graph-context.js';
import { int, ints } from './onnx-builder.js';
import { rotaryAmplitude, rotaryInverseFrequencies } from './rotary.js';

/** Values that depend only on the sequence length, built once per graph. */
export class SequenceValues {
  private causal?: string;
  private readonly windowMasks = new Map<number, string>();
  private readonly rotaryTables = new Map<string, { cos: string; sin: string }>();
  private readonly shapes = new Map<string, string>();
  private rows?: string;
  private cols?: string;

  /**
   * positions: int64 [pos] = 0 … pos − 1
   * tokenShape: int64 [2] = [batch, pos], to unflatten the [batch·pos, d] stream
   */
  constructor(
    private readonly ctx: GraphContext,
    readonly positions: string,
    readonly tokenShape: string,
  ) {}

  /** int64 [batch, pos, ...trailing], for reshaping [batch·pos, …] values. */
  shapeWith(trailing: readonly number[]): string {
    const key = trailing.join('x');
    let shape = this.shapes.get(key);
    if (shape === undefined) {
      shape = this.ctx.g.node('Concat', [this.tokenShape, this.ctx.g.intConstant([...trailing])], { axis: int(0) }, `shape.${key}`);
      this.shapes.set(key, shape);
    }
    return shape;
  }

  private grid(): { rows: string; cols: string } {
    const g = this.ctx.g;
    this.rows ??= g.node('Unsqueeze', [this.positions, g.intConstant([1])], {}, 'mask.rows'); // [pos, 1]
    this.cols ??= g.node('Unsqueeze', [this.positions, g.intConstant([0])], {}, 'mask.cols'); // [1, pos]
    return { rows: this.rows, cols: this.cols };
  }

  /** bool [pos, pos], true where query i must not see key j. */
  mask(window?: number): string {
    const g = this.ctx.g;
    const { rows, cols } = this.grid();
    this.causal ??= g.node('Greater', [cols, rows], {}, 'mask.causal');
    if (window === undefined) return this.causal;
    const existing = this.windowMasks.get(window);
    if (existing) return existing;
    // A window of W shows W keys, the query's own included: key j is visible from query i when i − W < j ≤ i.
    const tooFar = g.node('LessOrEqual', [cols, g.node('Sub', [rows, g.intConstant([window], [])])]);
    const mask = g.node('Or', [this.causal, tooFar], {}, `mask.window${window}`);
    this.windowMasks.set(window, mask);
    return mask;
  }

  /**
   * cos and sin tables of the rotary angles: [pos, 1, rotaryDims] (each angle twice, for
   * rotate_half pairs i and i + rotaryDims/2), or [pos, 1, rotaryDims/2, 1] for interleaved pairs.
   */
  rotary(spec: RotarySpec): { cos: string; sin: string } {
    const key = JSON.stringify(spec);
    const existing = this.rotaryTables.get(key);
    if (existing) return existing;
    const g = this.ctx.g;
    const inverseFrequencies = rotaryInverseFrequencies(spec);
    const positions = g.node('Unsqueeze', [g.node('Cast', [this.positions], { to: int(1) }), g.intConstant([1])]); // [pos, 1]
    const angles = g.node('Mul', [positions, g.floatConstant(inverseFrequencies)]); // [pos, rotaryDims/2]
    const interleaved = spec.pairing === 'interleaved';
    const laidOut = interleaved ? g.node('Unsqueeze', [angles, g.intConstant([-1])]) : g.node('Concat', [angles, angles], { axis: int(-1) });
    const name = `rotary${spec.rotaryDims}${interleaved ? 'i' : ''}`;
    // LongRoPE scales cos and sin (transformers' attention_scaling): the rotated features grow by it.
    const amplitude = rotaryAmplitude(spec);
    const scaled = (value: string) => (amplitude === 1 ? value : g.node('Mul', [value, g.floatConstant([amplitude], [])]));
    const table = {
      cos: g.node('Unsqueeze', [scaled(g.node('Cos', [laidOut])), g.intConstant([1])], {}, `${name}.cos`),
      sin: g.node('Unsqueeze', [scaled(g.node('Sin', [laidOut])), g.intConstant([1])], {}, `${name}.sin`),
    };
    this.rotaryTables.set(key, table);
    return table;
  }
}

function slice(ctx: GraphContext, x: string, start: number, end: number, axis: number): string {
  const g = ctx.g;
  return g.node('Slice', [x, g.intConstant([start]), g.intConstant([end]), g.intConstant([axis])]);
}

/**
 * Rotate the first rotaryDims features of each head: pairs (i, i + rotaryDims/2) with
 * rotate_half, or (2i, 2i + 1) when interleaved; x' = x·cos + rotate(x)·sin with
 * rotate(x) = −x₂ in the first slot of a pair and x₁ in the second. x: [batch, pos, heads, dHead]
 */
function applyRotary(ctx: GraphContext, x: string, rotary: RotarySpec, dHead: number, table: { cos: string; sin: string }, name: string): string {
  const g = ctx.g;
  const { rotaryDims } = rotary;
  const rotated = rotaryDims < dHead ? slice(ctx, x, 0, rotaryDims, 3) : x;
  let result: string;
  if (rotary.pairing === 'interleaved') {
    const pairs = g.node('Reshape', [rotated, g.intConstant([0, 0, 0, rotaryDims / 2, 2])]); // [batch, pos, heads, rotaryDims/2, 2]
    const [first, second] = g.nodeMany('Split', [pairs, g.intConstant([1, 1])], { axis: int(4) }, [`${name}.even`, `${name}.odd`]);
    const turnedFirst = g.node('Sub', [g.node('Mul', [first!, table.cos]), g.node('Mul', [second!, table.sin])]);
    const turnedSecond = g.node('Add', [g.node('Mul', [second!, table.cos]), g.node('Mul', [first!, table.sin])]);
    result = g.node('Reshape', [g.node('Concat', [turnedFirst, turnedSecond], { axis: int(4) }), g.intConstant([0, 0, 0, rotaryDims])]);
  } else {
    const firstHalf = slice(ctx, rotated, 0, rotaryDims / 2, 3);
    const secondHalf = slice(ctx, rotated, rotaryDims / 2, rotaryDims, 3);
    const halfRotated = g.node('Concat', [g.node('Neg', [secondHalf]), firstHalf], { axis: int(3) });
    result = g.node('Add', [g.node('Mul', [rotated, table.cos]), g.node('Mul', [halfRotated, table.sin])]);
  }
  if (rotaryDims === dHead) return g.node('Identity', [result], {}, name);
  return g.node('Concat', [result, slice(ctx, x, rotaryDims, dHead, 3)], { axis: int(3) }, name);
}

/** q, k, v as [batch, pos, heads, dHead] (k and v with nKvHeads). x: [batch·pos, dModel] */
function projectQkv(ctx: GraphContext, sequence: SequenceValues, x: string, spec: AttentionSpec, dims: ModelDims, name: string): [string, string, string] {
  const g = ctx.g;
  const { nHeads, nKvHeads, dHead } = dims;
  const qSize = nHeads * dHead;
  const kvSize = nKvHeads * dHead;
  const toHeads = (value: string, heads: number, label: string) => g.node('Reshape', [value, sequence.shapeWith([heads, dHead])], {}, `${name}.${label}`);
  switch (spec.qkv.kind) {
    case 'fused': {
      const fused = ctx.linear(x, spec.qkv.linear, `${name}.qkv`); // [batch·pos, qSize + 2·kvSize]
      const [q, k, v] = g.nodeMany('Split', [fused, g.intConstant([qSize, kvSize, kvSize])], { axis: int(-1) }, [
        `${name}.q_flat`,
        `${name}.k_flat`,
        `${name}.v_flat`,
      ]);
      return [toHeads(q!, nHeads, 'q'), toHeads(k!, nKvHeads, 'k'), toHeads(v!, nKvHeads, 'v')];
    }
    case 'fused-per-head': {
      const fused = ctx.linear(x, spec.qkv.linear, `${name}.qkv`);
      const perHead = g.node('Reshape', [fused, sequence.shapeWith([nHeads, 3 * dHead])]); // [batch, pos, heads, 3·dHead]
      const [q, k, v] = g.nodeMany('Split', [perHead, g.intConstant([dHead, dHead, dHead])], { axis: int(3) }, [`${name}.q`, `${name}.k`, `${name}.v`]);
      return [q!, k!, v!];
    }
    case 'separate':
      return [
        toHeads(ctx.linear(x, spec.qkv.q, `${name}.q_flat`), nHeads, 'q'),
        toHeads(ctx.linear(x, spec.qkv.k, `${name}.k_flat`), nKvHeads, 'k'),
        toHeads(ctx.linear(x, spec.qkv.v, `${name}.v_flat`), nKvHeads, 'v'),
      ];
  }
}

/**
 * The query or key norm of x [batch, pos, heads, dHead]: over the last axis ('per-head'), or
 * over the heads·dHead features of each position ('projection'), then back to heads.
 */
function normQueryOrKey(
  ctx: GraphContext,
  sequence: SequenceValues,
  x: string,
  kind: QkNorm['kind'],
  norm: NormWeights,
  heads: number,
  dHead: number,
  name: string,
): string {
  if (kind === 'per-head') return ctx.norm(x, norm, name);
  const g = ctx.g;
  const whole = g.node('Reshape', [x, sequence.shapeWith([heads * dHead])]); // [batch, pos, heads·dHead]
  return g.node('Reshape', [ctx.norm(whole, norm, `${name}.whole`), sequence.shapeWith([heads, dHead])], {}, name);
}

export interface AttentionParts {
  /**
   * Queries, keys, values as rotary reads them, [batch, pos, heads, dHead] (k and v with
   * nKvHeads): projected, clamped (qkvClip) and normalized (qkNorm) where the model does so;
   * TransformerLens's hook_q/k/v.
   */
  q: string;
  k: string;
  v: string;
  /** Queries and keys after rotary (the same as q and k without it): hook_rot_q / hook_rot_k. */
  rotQ: string;
  rotK: string;
  /** Scaled, soft-capped and masked scores before the softmax, shaped as the pattern: hook_attn_scores. */
  scores: string;
  /** [batch, nHeads, pos, pos], or [batch, kvHeads, groups, pos, pos] with grouped-query attention: hook_pattern. */
  pattern: string;
  /** Heads' outputs before the output projection, [batch·pos, nHeads·dHead]: hook_z. */
  z: string;
  /** The output projection of z, [batch·pos, dModel] (before any post-attention norm). */
  out: string;
}

/** Attention of x [batch·pos, dModel] (already normalized), with the values on the way. */
export function buildAttentionParts(
  ctx: GraphContext,
  sequence: SequenceValues,
  x: string,
  spec: AttentionSpec,
  dims: ModelDims,
  name: string,
): AttentionParts {
  const g = ctx.g;
  const { nHeads, nKvHeads, dHead } = dims;
  let [q, k, v] = projectQkv(ctx, sequence, x, spec, dims, name);
  if (spec.qkvClip !== undefined) {
    const bound = spec.qkvClip;
    [q, k, v] = [ctx.clamp(q, bound, `${name}.q_clipped`), ctx.clamp(k, bound, `${name}.k_clipped`), ctx.clamp(v, bound, `${name}.v_clipped`)];
  }
  if (spec.qkNorm) {
    q = normQueryOrKey(ctx, sequence, q, spec.qkNorm.kind, spec.qkNorm.q, nHeads, dHead, `${name}.q_norm`);
    k = normQueryOrKey(ctx, sequence, k, spec.qkNorm.kind, spec.qkNorm.k, nKvHeads, dHead, `${name}.k_norm`);
  }
  let rotQ = q;
  let rotK = k;
  if (spec.rotary) {
    const table = sequence.rotary(spec.rotary);
    rotQ = applyRotary(ctx, q, spec.rotary, dHead, table, `${name}.q_rot`);
    rotK = applyRotary(ctx, k, spec.rotary, dHead, table, `${name}.k_rot`);
  }
  let queries = g.node('Transpose', [rotQ], { perm: ints([0, 2, 1, 3]) }); // [batch, heads, pos, dHead]
  let keys = g.node('Transpose', [rotK], { perm: ints([0, 2, 3, 1]) }); // [batch, kvHeads, dHead, pos]
  let values = g.node('Transpose', [v], { perm: ints([0, 2, 1, 3]) }); // [batch, kvHeads, pos, dHead]
  const groups = nHeads / nKvHeads;
  if (groups > 1) {
    // Grouped-query attention by broadcasting: query head h uses kv head ⌊h / groups⌋.
    queries = g.node('Reshape', [queries, g.intConstant([0, nKvHeads, groups, -1, dHead])]); // [batch, kvHeads, groups, pos, dHead]
    keys = g.node('Unsqueeze', [keys, g.intConstant([2])]); // [batch, kvHeads, 1, dHead, pos]
    values = g.node('Unsqueeze', [values, g.intConstant([2])]);
  }
  const products = g.node('MatMul', [queries, keys]);
  const cap = spec.scoreSoftCap;
  // Soft-capped: cap · tanh(q·k · scale / cap), the scale folded into the tanh's argument (one pass fewer over the scores).
  const scores =
    cap === undefined
      ? g.node('Mul', [products, g.floatConstant([spec.scale], [])], {}, `${name}.scores`)
      : g.node('Mul', [g.node('Tanh', [g.node('Mul', [products, g.floatConstant([spec.scale / cap], [])])]), g.floatConstant([cap], [])], {}, `${name}.scores`);
  const masked = g.node('Where', [sequence.mask(spec.window), g.floatConstant([-Infinity], []), scores], {}, `${name}.masked_scores`);
  const pattern = g.node('Softmax', [masked], { axis: int(-1) }, `${name}.pattern`);
  let mixed = g.node('MatMul', [pattern, values]); // [batch, heads, pos, dHead] (or grouped)
  if (groups > 1) mixed = g.node('Reshape', [mixed, g.intConstant([0, nHeads, -1, dHead])]);
  const z = g.node('Reshape', [g.node('Transpose', [mixed], { perm: ints([0, 2, 1, 3]) }), g.intConstant([-1, nHeads * dHead])], {}, `${name}.z`); // [batch·pos, heads·dHead]
  return { q, k, v, rotQ, rotK, scores: masked, pattern, z, out: ctx.linear(z, spec.out, `${name}.out`) };
}
