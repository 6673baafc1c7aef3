/**
 * Norms of one block's weights, from their values: a pure function of Float32Arrays, the same
 * for every architecture because it reads only the TransformerSpec's description of them.
 *
 * Conventions (TransformerLens): per head W_Q, W_K, W_V are [dModel, dHead] and W_O is
 * [dHead, dModel], so W_OV^h = W_V^h · W_O^h is [dModel, dModel]. Its Frobenius norm comes from
 * two dHead×dHead Gram matrices, never from the product itself:
 *   ‖W_V W_O‖_F² = tr(W_Oᵀ W_Vᵀ W_V W_O) = tr(W_Vᵀ W_V · W_O W_Oᵀ) = Σ_ab (W_VᵀW_V)_ab (W_O W_Oᵀ)_ab.
 * With grouped-query attention, query head h uses key/value head ⌊h / (nHeads / nKvHeads)⌋.
 */
import type { ExpertMlpSpec, LinearWeights, MlpSpec, ModelDims, NormWeights, QkNorm, QkvProjection, TensorRef } from '../architectures/types.js';
import type { HeadNorms, WeightLayer, WeightNorms, WeightProcessing } from '../results/weights-schema.js';
import { combineExperts, listExperts } from './expert-norms.js';
import {
  addWeightedRows,
  centerRows,
  centered,
  featureRows,
  gramMatrix,
  rowsDotVector,
  scaleRows,
  sumOfSquares,
  trace,
  traceOfProduct,
  type StoredMatrix,
} from './weight-rows.js';

/**
 * A part of a TransformerSpec with every tensor reference replaced by its values as the model
 * uses them (readTensorRef: Gemma's norm gains are 1 + w here, not the stored w).
 */
export type WithValues<T> = T extends TensorRef ? Float32Array : T extends object ? { [K in keyof T]: WithValues<T[K]> } : T;

/** A block's tensors as the model uses them; a norm the block lacks is absent (see BlockSpec). */
export interface BlockWeightValues {
  norm1?: WithValues<NormWeights>;
  norm2?: WithValues<NormWeights>;
  norm1Post?: WithValues<NormWeights>;
  norm2Post?: WithValues<NormWeights>;
  qkv: WithValues<QkvProjection>;
  /** The norms of the queries and keys (Qwen3, Gemma 3, OLMo-2); absent without them. */
  qkNorm?: WithValues<QkNorm>;
  out: WithValues<LinearWeights>;
  mlp: WithValues<MlpSpec>;
}

export type WeightDims = Pick<ModelDims, 'dModel' | 'nHeads' | 'nKvHeads' | 'dHead' | 'dMlp'>;

/** Features read from a norm's output, before and after folding the norm into them. */
interface ReadFold {
  gain?: Float32Array;
  center: boolean;
  /** The norm's bias, read through the raw weights into the features' biases. */
  bias?: Float32Array;
}

/** How the features that read `norm`'s output are processed (no norm: nothing is folded into them). */
function readFold(norm: WithValues<NormWeights> | undefined, processing: WeightProcessing): ReadFold {
  return {
    ...(processing.foldNormGains && norm ? { gain: norm.weight } : {}),
    center: processing.centerReadingWeights,
    ...(processing.foldNormBiases && norm?.bias ? { bias: norm.bias } : {}),
  };
}

/** Where one head's features sit in a projection. */
interface HeadSource {
  matrix: StoredMatrix;
  bias?: Float32Array;
  first: (head: number) => number;
}

function storedMatrix(linear: WithValues<LinearWeights>, dIn: number, dOut: number): StoredMatrix {
  return { values: linear.weight, layout: linear.layout, dIn, dOut };
}

function qkvSources(qkv: WithValues<QkvProjection>, dims: WeightDims): { q: HeadSource; k: HeadSource; v: HeadSource } {
  const { dModel, nHeads, nKvHeads, dHead } = dims;
  const qSize = nHeads * dHead;
  const kvSize = nKvHeads * dHead;
  switch (qkv.kind) {
    case 'fused': {
      // output = [q | k | v]
      const source = { matrix: storedMatrix(qkv.linear, dModel, qSize + 2 * kvSize), bias: qkv.linear.bias };
      return {
        q: { ...source, first: (h) => h * dHead },
        k: { ...source, first: (g) => qSize + g * dHead },
        v: { ...source, first: (g) => qSize + kvSize + g * dHead },
      };
    }
    case 'fused-per-head': {
      // output = [q₀ k₀ v₀ | q₁ k₁ v₁ | …]
      if (nKvHeads !== nHeads) throw new RangeError('fused-per-head q/k/v with grouped-query attention is not a known layout');
      const source = { matrix: storedMatrix(qkv.linear, dModel, 3 * qSize), bias: qkv.linear.bias };
      return {
        q: { ...source, first: (h) => 3 * h * dHead },
        k: { ...source, first: (h) => (3 * h + 1) * dHead },
        v: { ...source, first: (h) => (3 * h + 2) * dHead },
      };
    }
    case 'separate': {
      const source = (linear: WithValues<LinearWeights>, size: number): HeadSource => ({
        matrix: storedMatrix(linear, dModel, size),
        bias: linear.bias,
        first: (h) => h * dHead,
      });
      return { q: source(qkv.q, qSize), k: source(qkv.k, kvSize), v: source(qkv.v, kvSize) };
    }
  }
}

/** Rows of features first…first+count−1 of a reading projection: raw, and folded as `fold` says. */
function readFeatures(matrix: StoredMatrix, first: number, count: number, fold: ReadFold): { raw: Float64Array; processed: Float64Array } {
  const raw = featureRows(matrix, 'out', first, count);
  const processed = raw.slice();
  if (fold.gain) scaleRows(processed, fold.gain);
  if (fold.center) centerRows(processed, matrix.dIn);
  return { raw, processed };
}

function writeFeatures(matrix: StoredMatrix, first: number, count: number, center: boolean): { raw: Float64Array; processed: Float64Array } {
  const raw = featureRows(matrix, 'in', first, count);
  const processed = raw.slice();
  if (center) centerRows(processed, matrix.dOut);
  return { raw, processed };
}

function slice(bias: Float32Array | undefined, first: number, count: number): Float64Array {
  return bias ? Float64Array.from(bias.subarray(first, first + count)) : new Float64Array(count);
}

function vectorNorm(vector: ArrayLike<number> | undefined): number | null {
  return vector === undefined ? null : Math.sqrt(sumOfSquares(vector));
}

const rootSum = (squares: readonly number[]): number => Math.sqrt(squares.reduce((a, b) => a + b, 0));

type AttentionNorms = Pick<WeightNorms, 'W_Q' | 'W_K' | 'W_V' | 'W_O' | 'W_OV' | 'b_O'>;

function attentionNorms(block: BlockWeightValues, dims: WeightDims, processing: WeightProcessing) {
  const { dModel, nHeads, nKvHeads, dHead } = dims;
  const { q, k, v } = qkvSources(block.qkv, dims);
  const out = storedMatrix(block.out, nHeads * dHead, dModel);
  const fold = readFold(block.norm1, processing);
  const squares = { raw: emptyHeads(), processed: emptyHeads() };
  const headNorms = (source: HeadSource, head: number, name: 'W_Q' | 'W_K'): void => {
    const rows = readFeatures(source.matrix, source.first(head), dHead, fold);
    squares.raw[name].push(sumOfSquares(rows.raw));
    squares.processed[name].push(sumOfSquares(rows.processed));
  };

  // Per key/value head: W_K, the Gram matrices of W_V, and the value bias (with the norm's bias folded in).
  const valueGrams: Array<{ raw: Float64Array; processed: Float64Array }> = [];
  const valueBiases: Float64Array[] = [];
  for (let g = 0; g < nKvHeads; g += 1) {
    headNorms(k, g, 'W_K');
    const rows = readFeatures(v.matrix, v.first(g), dHead, fold);
    const grams = { raw: gramMatrix(rows.raw, dModel), processed: gramMatrix(rows.processed, dModel) };
    valueGrams.push(grams);
    squares.raw.W_V.push(trace(grams.raw, dHead));
    squares.processed.W_V.push(trace(grams.processed, dHead));
    const bias = slice(v.bias, v.first(g), dHead);
    if (fold.bias) rowsDotVector(rows.raw, fold.bias).forEach((value, a) => (bias[a]! += value));
    valueBiases.push(bias);
  }

  // Per query head: W_Q, W_O, W_OV through the Gram trick, and b_V · W_O for the folded b_O.
  const groups = nHeads / nKvHeads;
  const foldedOutBias = Float64Array.from(block.out.bias ?? new Float32Array(dModel));
  for (let h = 0; h < nHeads; h += 1) {
    headNorms(q, h, 'W_Q');
    const g = Math.floor(h / groups);
    const rows = writeFeatures(out, h * dHead, dHead, processing.centerWritingWeights);
    const outGrams = { raw: gramMatrix(rows.raw, dModel), processed: gramMatrix(rows.processed, dModel) };
    squares.raw.W_O.push(trace(outGrams.raw, dHead));
    squares.processed.W_O.push(trace(outGrams.processed, dHead));
    squares.raw.W_OV.push(traceOfProduct(valueGrams[g]!.raw, outGrams.raw));
    squares.processed.W_OV.push(traceOfProduct(valueGrams[g]!.processed, outGrams.processed));
    if (processing.foldValueBiases) addWeightedRows(foldedOutBias, rows.raw, valueBiases[g]!);
  }

  const hasValueBias = v.bias !== undefined || fold.bias !== undefined;
  const processedOutBias =
    block.out.bias === undefined && !(processing.foldValueBiases && hasValueBias)
      ? undefined
      : processing.centerWritingWeights
        ? centered(foldedOutBias)
        : foldedOutBias;
  return {
    raw: { ...layerValues(squares.raw), b_O: vectorNorm(block.out.bias) } satisfies AttentionNorms,
    processed: { ...layerValues(squares.processed), b_O: vectorNorm(processedOutBias) } satisfies AttentionNorms,
    heads: { raw: headValues(squares.raw), processed: headValues(squares.processed) },
  };
}

function emptyHeads(): Record<keyof HeadNorms, number[]> {
  return { W_Q: [], W_K: [], W_V: [], W_O: [], W_OV: [] };
}

function layerValues(squares: Record<keyof HeadNorms, number[]>): Omit<AttentionNorms, 'b_O'> {
  return { W_Q: rootSum(squares.W_Q), W_K: rootSum(squares.W_K), W_V: rootSum(squares.W_V), W_O: rootSum(squares.W_O), W_OV: rootSum(squares.W_OV) };
}

function headValues(squares: Record<keyof HeadNorms, number[]>): HeadNorms {
  const roots = (values: number[]) => values.map(Math.sqrt);
  return { W_Q: roots(squares.W_Q), W_K: roots(squares.W_K), W_V: roots(squares.W_V), W_O: roots(squares.W_O), W_OV: roots(squares.W_OV) };
}

/** Features per chunk when a whole MLP matrix is walked as rows: bounds the float64 copy. */
const CHUNK_FEATURES = 256;

interface MatrixNorms {
  raw: number;
  processed: number;
  rawBias: number | null;
  processedBias: number | null;
}

/** An MLP projection that reads the residual stream (W_in, W_gate), with the norm folded in for `processed`. */
function readingMatrixNorms(linear: WithValues<LinearWeights>, dModel: number, dMlp: number, fold: ReadFold): MatrixNorms {
  const matrix = storedMatrix(linear, dModel, dMlp);
  const bias = slice(linear.bias, 0, dMlp);
  let raw = 0;
  let processed = 0;
  for (let first = 0; first < dMlp; first += CHUNK_FEATURES) {
    const count = Math.min(CHUNK_FEATURES, dMlp - first);
    const rows = readFeatures(matrix, first, count, fold);
    raw += sumOfSquares(rows.raw);
    processed += sumOfSquares(rows.processed);
    if (fold.bias) rowsDotVector(rows.raw, fold.bias).forEach((value, a) => (bias[first + a]! += value));
  }
  return {
    raw: Math.sqrt(raw),
    processed: Math.sqrt(processed),
    rawBias: vectorNorm(linear.bias),
    processedBias: linear.bias === undefined && fold.bias === undefined ? null : vectorNorm(bias),
  };
}

/** The MLP projection that writes to the residual stream (W_out), centered over dModel for `processed`. */
function writingMatrixNorms(linear: WithValues<LinearWeights>, dMlp: number, dModel: number, center: boolean): MatrixNorms {
  const matrix = storedMatrix(linear, dMlp, dModel);
  let raw = 0;
  let processed = 0;
  for (let first = 0; first < dMlp; first += CHUNK_FEATURES) {
    const rows = writeFeatures(matrix, first, Math.min(CHUNK_FEATURES, dMlp - first), center);
    raw += sumOfSquares(rows.raw);
    processed += sumOfSquares(rows.processed);
  }
  const processedBias = linear.bias && center ? centered(linear.bias) : linear.bias;
  return { raw: Math.sqrt(raw), processed: Math.sqrt(processed), rawBias: vectorNorm(linear.bias), processedBias: vectorNorm(processedBias) };
}

type MlpNorms = Pick<WeightNorms, 'W_in' | 'W_gate' | 'W_out' | 'b_in' | 'b_gate' | 'b_out' | 'W_router'>;

/** One dense or gated MLP (a block's, or one expert's) reading the output of the norm `fold` describes. */
function singleMlpNorms(
  mlp: WithValues<ExpertMlpSpec>,
  dims: WeightDims,
  fold: ReadFold,
  processing: WeightProcessing,
): { raw: MlpNorms; processed: MlpNorms } {
  const { dModel, dMlp } = dims;
  const input = readingMatrixNorms(mlp.kind === 'dense' ? mlp.in : mlp.up, dModel, dMlp, fold);
  const output = writingMatrixNorms(mlp.kind === 'dense' ? mlp.out : mlp.down, dMlp, dModel, processing.centerWritingWeights);
  // TransformerLens scales W_gate by the gain but does not center it (its fold_layer_norm centers W_in only).
  const gate = mlp.kind === 'gated' ? readingMatrixNorms(mlp.gate, dModel, dMlp, { ...fold, center: false }) : undefined;
  const variant = (which: 'raw' | 'processed'): MlpNorms => {
    const biasKey = which === 'raw' ? 'rawBias' : 'processedBias';
    return {
      W_in: input[which],
      ...(gate ? { W_gate: gate[which], b_gate: gate[biasKey] } : {}),
      W_out: output[which],
      b_in: input[biasKey],
      b_out: output[biasKey],
    };
  };
  return { raw: variant('raw'), processed: variant('processed') };
}

/** The block's MLP; a mixture of experts: every expert's (expert-norms.ts), and the router, scaled by the gain as W_gate is. */
function mlpNorms(
  block: BlockWeightValues,
  dims: WeightDims,
  processing: WeightProcessing,
): { raw: MlpNorms; processed: MlpNorms; experts?: WeightLayer['experts'] } {
  const fold = readFold(block.norm2, processing);
  const { mlp } = block;
  if (mlp.kind !== 'moe') return singleMlpNorms(mlp, dims, fold, processing);
  const each = mlp.experts.map((expert) => singleMlpNorms(expert, dims, fold, processing));
  const router = readingMatrixNorms(mlp.router, dims.dModel, mlp.experts.length, { ...fold, center: false });
  return {
    raw: { ...combineExperts(each.map((norms) => norms.raw)), W_router: router.raw },
    processed: { ...combineExperts(each.map((norms) => norms.processed)), W_router: router.processed },
    experts: { raw: listExperts(each.map((norms) => norms.raw)), processed: listExperts(each.map((norms) => norms.processed)) },
  };
}

/**
 * ‖gain‖, its mean and ‖bias‖ as the model applies them; a norm without parameters (OLMo's
 * LayerNorm) has the gain 1 over its `width` features: √width and 1. Nulls: no such norm.
 */
function normParameters(norm: WithValues<NormWeights> | undefined, width: number): { w: number | null; wMean: number | null; b: number | null } {
  if (norm === undefined) return { w: null, wMean: null, b: null };
  if (norm.weight === undefined) return { w: Math.sqrt(width), wMean: 1, b: vectorNorm(norm.bias) };
  const sum = norm.weight.reduce((a, b) => a + b, 0);
  return { w: Math.sqrt(sumOfSquares(norm.weight)), wMean: sum / norm.weight.length, b: vectorNorm(norm.bias) };
}

/**
 * The parameters of the norms processing leaves as they are, under their names: the
 * post-sublayer norms, and the query and key norms (TransformerLens folds only the norms before
 * a sub-block into the weights that read them); none for a block without them.
 */
function unfoldedNormParameters(block: BlockWeightValues, dims: WeightDims): Partial<WeightNorms> {
  const entries: Partial<WeightNorms> = {};
  const qkWidth = (heads: number) => (block.qkNorm?.kind === 'projection' ? heads * dims.dHead : dims.dHead);
  const norms = [
    ['ln1_post', block.norm1Post, dims.dModel],
    ['ln2_post', block.norm2Post, dims.dModel],
    ['q_norm', block.qkNorm?.q, qkWidth(dims.nHeads)],
    ['k_norm', block.qkNorm?.k, qkWidth(dims.nKvHeads)],
  ] as const;
  for (const [name, norm, width] of norms) {
    if (norm === undefined) continue;
    const { w, wMean, b } = normParameters(norm, width);
    Object.assign(entries, { [`${name}.w`]: w, [`${name}.w_mean`]: wMean, ...(name.endsWith('_post') ? { [`${name}.b`]: b } : {}) });
  }
  return entries;
}

/** All norms of one block: raw, processed, and per head. */
export function computeLayerWeightNorms(layer: number, block: BlockWeightValues, dims: WeightDims, processing: WeightProcessing): WeightLayer {
  const attention = attentionNorms(block, dims, processing);
  const mlp = mlpNorms(block, dims, processing);
  const ln1 = normParameters(block.norm1, dims.dModel);
  const ln2 = normParameters(block.norm2, dims.dModel);
  return {
    layer,
    raw: {
      ...attention.raw,
      ...mlp.raw,
      'ln1.w': ln1.w,
      'ln1.w_mean': ln1.wMean,
      'ln1.b': ln1.b,
      'ln2.w': ln2.w,
      'ln2.w_mean': ln2.wMean,
      'ln2.b': ln2.b,
      ...unfoldedNormParameters(block, dims),
    },
    processed: { ...attention.processed, ...mlp.processed, ...unfoldedNormParameters(block, dims) },
    heads: attention.heads,
    ...(mlp.experts ? { experts: mlp.experts } : {}),
  };
}
