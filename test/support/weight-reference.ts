/**
 * An independent reference for weight norms: one block's weights in TransformerLens orientation
 * (per head W_Q/W_K/W_V [dModel][dHead], W_O [dHead][dModel]; W_in [dModel][dMlp], W_out
 * [dMlp][dModel]) as nested arrays, TransformerLens's weight processing written out, and norms
 * by plain loops — W_OV as the explicit dModel×dModel product. `packBlock` stores such a block
 * in any Hugging Face layout, so the implementation's slicing is checked by its inverse.
 */
import type { BlockWeightValues } from '../../src/weights/weight-norms.js';
import type { WeightLayout } from '../../src/architectures/types.js';
import type { Random } from './random.js';

export type Matrix = number[][];

export interface ReferenceBlock {
  dims: { dModel: number; nHeads: number; nKvHeads: number; dHead: number; dMlp: number };
  normalization: 'layernorm' | 'rmsnorm';
  ln1: { w: number[]; b?: number[] };
  ln2: { w: number[]; b?: number[] };
  /** [head] [dModel][dHead]; W_K, W_V per key/value head. */
  W_Q: Matrix[];
  W_K: Matrix[];
  W_V: Matrix[];
  /** [head] [dHead] */
  b_Q?: number[][];
  b_K?: number[][];
  b_V?: number[][];
  /** [head] [dHead][dModel] */
  W_O: Matrix[];
  b_O?: number[];
  W_in: Matrix;
  b_in?: number[];
  W_gate?: Matrix;
  b_gate?: number[];
  W_out: Matrix;
  b_out?: number[];
}

export const frobenius = (m: Matrix): number => Math.sqrt(m.flat().reduce((a, b) => a + b * b, 0));
export const l2 = (v: number[]): number => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
const rows = (n: number, m: number, f: (i: number, j: number) => number): Matrix =>
  Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => f(i, j)));

export function matmul(a: Matrix, b: Matrix): Matrix {
  return rows(a.length, b[0]!.length, (i, j) => a[i]!.reduce((sum, v, k) => sum + v * b[k]![j]!, 0));
}

const centerVector = (v: number[]): number[] => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return v.map((x) => x - mean);
};
/** Each column minus its mean over rows (the residual axis of a reading matrix). */
const centerColumns = (m: Matrix): Matrix => rows(m.length, m[0]!.length, (i, j) => m[i]![j]! - m.reduce((a, row) => a + row[j]!, 0) / m.length);
/** Each row minus its mean (the residual axis of a writing matrix). */
const centerEachRow = (m: Matrix): Matrix => m.map(centerVector);
const scaleRowsBy = (m: Matrix, gain: number[]): Matrix => m.map((row, i) => row.map((v) => v * gain[i]!));
/** b + ln.b · W for a reading matrix W [dModel][n]. */
const foldBias = (bias: number[] | undefined, lnBias: number[], w: Matrix): number[] =>
  w[0]!.map((_, j) => (bias?.[j] ?? 0) + w.reduce((a, row, i) => a + lnBias[i]! * row[j]!, 0));

/** The block after TransformerLens's default processing (fold_ln, center_writing_weights, fold_value_biases). */
export function processBlock(block: ReferenceBlock): ReferenceBlock {
  const ln = block.normalization === 'layernorm';
  const read = (w: Matrix, gain: number[]) => (ln ? centerColumns(scaleRowsBy(w, gain)) : scaleRowsBy(w, gain));
  const write = (w: Matrix) => (ln ? centerEachRow(w) : w);
  const groups = block.dims.nHeads / block.dims.nKvHeads;
  const b_V = block.W_V.map((w, g) =>
    ln && block.ln1.b ? foldBias(block.b_V?.[g], block.ln1.b, w) : (block.b_V?.[g] ?? new Array<number>(block.dims.dHead).fill(0)),
  );
  const hasValueBias = block.b_V !== undefined || (ln && block.ln1.b !== undefined);
  let b_O: number[] | undefined;
  if (block.b_O !== undefined || hasValueBias) {
    b_O = block.b_O ? [...block.b_O] : new Array<number>(block.dims.dModel).fill(0);
    block.W_O.forEach((w, h) => w.forEach((row, d) => row.forEach((v, j) => (b_O![j]! += b_V[Math.floor(h / groups)]![d]! * v))));
    if (ln) b_O = centerVector(b_O);
  }
  const readBias = (bias: number[] | undefined, w: Matrix) => (ln && block.ln2.b ? foldBias(bias, block.ln2.b, w) : bias);
  return {
    ...block,
    W_Q: block.W_Q.map((w) => read(w, block.ln1.w)),
    W_K: block.W_K.map((w) => read(w, block.ln1.w)),
    W_V: block.W_V.map((w) => read(w, block.ln1.w)),
    W_O: block.W_O.map(write),
    b_O,
    W_in: read(block.W_in, block.ln2.w),
    b_in: readBias(block.b_in, block.W_in),
    // TransformerLens scales W_gate but does not center it.
    ...(block.W_gate ? { W_gate: scaleRowsBy(block.W_gate, block.ln2.w), b_gate: readBias(block.b_gate, block.W_gate) } : {}),
    W_out: write(block.W_out),
    b_out: block.b_out && ln ? centerVector(block.b_out) : block.b_out,
  };
}

export interface ReferenceNorms {
  layer: Record<string, number | null>;
  heads: Record<'W_Q' | 'W_K' | 'W_V' | 'W_O' | 'W_OV', number[]>;
}

/** Norms by definition; W_OV^h = W_V^{⌊h/groups⌋} · W_O^h formed explicitly ([dModel][dModel]). */
/**
 * With `mlpProducts`, also ‖W_in·W_out‖_F and ‖b_in·W_out‖ (the reference analysis's MLP appendix), from the explicit
 * [dModel][dModel] product of the block's (processed, if it was) W_in and W_out.
 */
export function referenceNorms(block: ReferenceBlock, mlpProducts = false): ReferenceNorms {
  const groups = block.dims.nHeads / block.dims.nKvHeads;
  const ov = block.W_O.map((w, h) => frobenius(matmul(block.W_V[Math.floor(h / groups)]!, w)));
  const heads = { W_Q: block.W_Q.map(frobenius), W_K: block.W_K.map(frobenius), W_V: block.W_V.map(frobenius), W_O: block.W_O.map(frobenius), W_OV: ov };
  const whole = (values: number[]) => l2(values);
  const optional = (v: number[] | undefined) => (v === undefined ? null : l2(v));
  return {
    heads,
    layer: {
      W_Q: whole(heads.W_Q),
      W_K: whole(heads.W_K),
      W_V: whole(heads.W_V),
      W_O: whole(heads.W_O),
      W_OV: whole(ov),
      b_O: optional(block.b_O),
      W_in: frobenius(block.W_in),
      b_in: optional(block.b_in),
      ...(block.W_gate ? { W_gate: frobenius(block.W_gate), b_gate: optional(block.b_gate) } : {}),
      W_out: frobenius(block.W_out),
      b_out: optional(block.b_out),
      ...(mlpProducts
        ? { W_inW_out: frobenius(matmul(block.W_in, block.W_out)), b_inW_out: block.b_in === undefined ? null : frobenius(matmul([block.b_in], block.W_out)) }
        : {}),
    },
  };
}

export interface BlockShape {
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  dHead: number;
  dMlp: number;
  normalization: 'layernorm' | 'rmsnorm';
  gated: boolean;
  qkvBias: boolean;
  outBias: boolean;
  mlpBias: boolean;
}

/** A random block (weights ~ N(0, 0.3²), gains ~ 1 + N(0, 0.2²)). */
export function randomBlock(shape: BlockShape, random: Random): ReferenceBlock {
  const { dModel, nHeads, nKvHeads, dHead, dMlp } = shape;
  const vector = (n: number, mean = 0, std = 0.3) => Array.from({ length: n }, () => mean + std * random.normal());
  const matrix = (n: number, m: number) => rows(n, m, () => 0.3 * random.normal());
  const ln = shape.normalization === 'layernorm';
  const norm = () => ({ w: vector(dModel, 1, 0.2), ...(ln ? { b: vector(dModel) } : {}) });
  return {
    dims: { dModel, nHeads, nKvHeads, dHead, dMlp },
    normalization: shape.normalization,
    ln1: norm(),
    ln2: norm(),
    W_Q: Array.from({ length: nHeads }, () => matrix(dModel, dHead)),
    W_K: Array.from({ length: nKvHeads }, () => matrix(dModel, dHead)),
    W_V: Array.from({ length: nKvHeads }, () => matrix(dModel, dHead)),
    ...(shape.qkvBias
      ? {
          b_Q: Array.from({ length: nHeads }, () => vector(dHead)),
          b_K: Array.from({ length: nKvHeads }, () => vector(dHead)),
          b_V: Array.from({ length: nKvHeads }, () => vector(dHead)),
        }
      : {}),
    W_O: Array.from({ length: nHeads }, () => matrix(dHead, dModel)),
    ...(shape.outBias ? { b_O: vector(dModel) } : {}),
    W_in: matrix(dModel, dMlp),
    ...(shape.gated ? { W_gate: matrix(dModel, dMlp), ...(shape.mlpBias ? { b_gate: vector(dMlp) } : {}) } : {}),
    ...(shape.mlpBias ? { b_in: vector(dMlp), b_out: vector(dModel) } : {}),
    W_out: matrix(dMlp, dModel),
  };
}

/** Stores W[i][o] (logical [dIn][dOut]) in a layout. */
function store(dIn: number, dOut: number, layout: WeightLayout, get: (i: number, o: number) => number): Float32Array {
  const values = new Float32Array(dIn * dOut);
  for (let i = 0; i < dIn; i += 1) for (let o = 0; o < dOut; o += 1) values[layout === 'in_out' ? i * dOut + o : o * dIn + i] = get(i, o);
  return values;
}

const f32 = (v: number[] | undefined) => (v ? { bias: Float32Array.from(v) } : {});

/**
 * The block in a Hugging Face layout. Values are rounded to float32 on the way; call
 * `roundBlock` first so the reference sees the same numbers.
 */
export function packBlock(block: ReferenceBlock, qkvKind: 'fused' | 'fused-per-head' | 'separate', layout: WeightLayout): BlockWeightValues {
  const { dModel, nHeads, nKvHeads, dHead, dMlp } = block.dims;
  // Which (matrix, head, feature) sits at each output index of the fused projections.
  const fusedEntry = (o: number): { m: Matrix[]; b?: number[][]; head: number; d: number } => {
    if (qkvKind === 'fused-per-head') {
      const head = Math.floor(o / (3 * dHead));
      const part = Math.floor((o % (3 * dHead)) / dHead);
      const parts = [
        { m: block.W_Q, b: block.b_Q },
        { m: block.W_K, b: block.b_K },
        { m: block.W_V, b: block.b_V },
      ];
      return { ...parts[part]!, head, d: o % dHead };
    }
    const qSize = nHeads * dHead;
    const kvSize = nKvHeads * dHead;
    if (o < qSize) return { m: block.W_Q, b: block.b_Q, head: Math.floor(o / dHead), d: o % dHead };
    if (o < qSize + kvSize) return { m: block.W_K, b: block.b_K, head: Math.floor((o - qSize) / dHead), d: (o - qSize) % dHead };
    return { m: block.W_V, b: block.b_V, head: Math.floor((o - qSize - kvSize) / dHead), d: (o - qSize - kvSize) % dHead };
  };
  const headsLinear = (m: Matrix[], b: number[][] | undefined, heads: number) => ({
    weight: store(dModel, heads * dHead, layout, (i, o) => m[Math.floor(o / dHead)]![i]![o % dHead]!),
    layout,
    ...f32(b?.flat()),
  });
  let qkv: BlockWeightValues['qkv'];
  if (qkvKind === 'separate') {
    qkv = {
      kind: 'separate',
      q: headsLinear(block.W_Q, block.b_Q, nHeads),
      k: headsLinear(block.W_K, block.b_K, nKvHeads),
      v: headsLinear(block.W_V, block.b_V, nKvHeads),
    };
  } else {
    const dOut = qkvKind === 'fused' ? (nHeads + 2 * nKvHeads) * dHead : 3 * nHeads * dHead;
    const weight = store(dModel, dOut, layout, (i, o) => {
      const { m, head, d } = fusedEntry(o);
      return m[head]![i]![d]!;
    });
    const bias = block.b_Q
      ? Array.from({ length: dOut }, (_, o) => {
          const { b, head, d } = fusedEntry(o);
          return b![head]![d]!;
        })
      : undefined;
    qkv = { kind: qkvKind, linear: { weight, layout, ...f32(bias) } };
  }
  const out = { weight: store(nHeads * dHead, dModel, layout, (i, o) => block.W_O[Math.floor(i / dHead)]![i % dHead]![o]!), layout, ...f32(block.b_O) };
  const linear = (m: Matrix, dIn: number, dOut: number, bias?: number[]) => ({ weight: store(dIn, dOut, layout, (i, o) => m[i]![o]!), layout, ...f32(bias) });
  const norm = (n: { w: number[]; b?: number[] }) => ({ kind: block.normalization, weight: Float32Array.from(n.w), eps: 1e-5, ...f32(n.b) });
  const up = linear(block.W_in, dModel, dMlp, block.b_in);
  const down = linear(block.W_out, dMlp, dModel, block.b_out);
  return {
    norm1: norm(block.ln1),
    norm2: norm(block.ln2),
    qkv,
    out,
    mlp: block.W_gate
      ? { kind: 'gated', activation: 'silu', gate: linear(block.W_gate, dModel, dMlp, block.b_gate), up, down }
      : { kind: 'dense', activation: 'gelu_new', in: up, out: down },
  };
}

/** Every number rounded to float32, as packing stores it. */
export function roundBlock<T>(value: T): T {
  if (typeof value === 'number') return Math.fround(value) as T;
  if (Array.isArray(value)) return value.map(roundBlock) as T;
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'dims' ? v : roundBlock(v)])) as T;
  return value;
}

/** Block `layer` of a tiny GPT-2 (weights by name without prefix), unpacked with plain indexing: c_attn is [dModel, 3·dModel] = [q | k | v]. */
export function gpt2ReferenceBlock(weights: Map<string, Float32Array>, layer: number, dModel: number, nHeads: number): ReferenceBlock {
  const get = (name: string) => Array.from(weights.get(`h.${layer}.${name}`)!);
  const dHead = dModel / nHeads;
  const dMlp = 4 * dModel;
  const attn = get('attn.c_attn.weight');
  const attnBias = get('attn.c_attn.bias');
  const proj = get('attn.c_proj.weight');
  const fc = get('mlp.c_fc.weight');
  const mlpProj = get('mlp.c_proj.weight');
  const part = (offset: number) => Array.from({ length: nHeads }, (_, h) => rows(dModel, dHead, (i, d) => attn[i * 3 * dModel + offset + h * dHead + d]!));
  const partBias = (offset: number) => Array.from({ length: nHeads }, (_, h) => attnBias.slice(offset + h * dHead, offset + (h + 1) * dHead));
  return {
    dims: { dModel, nHeads, nKvHeads: nHeads, dHead, dMlp },
    normalization: 'layernorm',
    ln1: { w: get('ln_1.weight'), b: get('ln_1.bias') },
    ln2: { w: get('ln_2.weight'), b: get('ln_2.bias') },
    W_Q: part(0),
    W_K: part(dModel),
    W_V: part(2 * dModel),
    b_Q: partBias(0),
    b_K: partBias(dModel),
    b_V: partBias(2 * dModel),
    W_O: Array.from({ length: nHeads }, (_, h) => rows(dHead, dModel, (d, j) => proj[(h * dHead + d) * dModel + j]!)),
    b_O: get('attn.c_proj.bias'),
    W_in: rows(dModel, dMlp, (i, c) => fc[i * dMlp + c]!),
    b_in: get('mlp.c_fc.bias'),
    W_out: rows(dMlp, dModel, (c, j) => mlpProj[c * dModel + j]!),
    b_out: get('mlp.c_proj.bias'),
  };
}
