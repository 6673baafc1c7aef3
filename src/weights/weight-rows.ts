/**
 * Weight matrices seen from the residual stream. Whatever the storage layout (GPT-2 Conv1D
 * [in, out] or nn.Linear [out, in]), a projection that reads from or writes to the residual
 * stream is handled here as float64 rows of length dModel: one row per head feature (or MLP
 * neuron), holding the residual-side vector of that feature. Norms, Gram matrices, LayerNorm
 * folding and centering are then the same loops for every architecture.
 */
import type { WeightLayout } from '../architectures/types.js';

/** A stored weight matrix with its logical shape: y[dOut] = x[dIn] · W. */
export interface StoredMatrix {
  values: Float32Array;
  layout: WeightLayout;
  dIn: number;
  dOut: number;
}

/**
 * Rows `first … first + count − 1` of the non-residual axis as float64 [count][dResidual]
 * (flattened). `featureAxis` says which logical axis indexes features: 'out' for projections
 * that read the residual stream (q, k, v, W_in), 'in' for those that write to it (W_O, W_out).
 */
export function featureRows(matrix: StoredMatrix, featureAxis: 'in' | 'out', first: number, count: number): Float64Array {
  const { values, layout, dIn, dOut } = matrix;
  if (values.length !== dIn * dOut) throw new RangeError(`matrix has ${values.length} values; [${dIn}, ${dOut}] needs ${dIn * dOut}`);
  const dResidual = featureAxis === 'out' ? dIn : dOut;
  const featureCount = featureAxis === 'out' ? dOut : dIn;
  if (first < 0 || first + count > featureCount) throw new RangeError(`features ${first}…${first + count - 1} outside 0…${featureCount - 1}`);
  const rows = new Float64Array(count * dResidual);
  const storedColumns = layout === 'in_out' ? dOut : dIn;
  // The stored rows are features when the feature axis is the stored leading axis.
  if ((layout === 'in_out') === (featureAxis === 'in')) {
    for (let a = 0; a < count; a += 1) {
      const start = (first + a) * storedColumns;
      rows.set(values.subarray(start, start + dResidual), a * dResidual);
    }
  } else {
    for (let r = 0; r < dResidual; r += 1) {
      const base = r * storedColumns + first;
      for (let a = 0; a < count; a += 1) rows[a * dResidual + r] = values[base + a]!;
    }
  }
  return rows;
}

/** Multiply every row elementwise by `gain` (folding a norm's gain into the weights that read it). */
export function scaleRows(rows: Float64Array, gain: ArrayLike<number>): void {
  const width = gain.length;
  for (let start = 0; start < rows.length; start += width) {
    for (let r = 0; r < width; r += 1) rows[start + r]! *= gain[r]!;
  }
}

/** Subtract each row's mean (two passes, so no cancellation). */
export function centerRows(rows: Float64Array, width: number): void {
  for (let start = 0; start < rows.length; start += width) {
    let sum = 0;
    for (let r = 0; r < width; r += 1) sum += rows[start + r]!;
    const mean = sum / width;
    for (let r = 0; r < width; r += 1) rows[start + r]! -= mean;
  }
}

export function sumOfSquares(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum += values[i]! * values[i]!;
  return sum;
}

/** G[a][b] = row a · row b: the [count, count] Gram matrix of the rows (flattened, symmetric). */
export function gramMatrix(rows: Float64Array, width: number): Float64Array {
  const count = rows.length / width;
  const gram = new Float64Array(count * count);
  const set = (a: number, b: number, dot: number): void => {
    gram[a * count + b] = dot;
    gram[b * count + a] = dot;
  };
  for (let a = 0; a < count; a += 1) {
    const x = a * width;
    let b = a;
    // Four dot products per pass over row a: about half the time of one at a time.
    for (; b + 3 < count; b += 4) {
      const y0 = b * width;
      const y1 = y0 + width;
      const y2 = y1 + width;
      const y3 = y2 + width;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let r = 0; r < width; r += 1) {
        const value = rows[x + r]!;
        d0 += value * rows[y0 + r]!;
        d1 += value * rows[y1 + r]!;
        d2 += value * rows[y2 + r]!;
        d3 += value * rows[y3 + r]!;
      }
      set(a, b, d0);
      set(a, b + 1, d1);
      set(a, b + 2, d2);
      set(a, b + 3, d3);
    }
    for (; b < count; b += 1) {
      const y = b * width;
      let dot = 0;
      for (let r = 0; r < width; r += 1) dot += rows[x + r]! * rows[y + r]!;
      set(a, b, dot);
    }
  }
  return gram;
}

/** tr(A · B) for symmetric A, B: the sum of their elementwise products. */
export function traceOfProduct(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += a[i]! * b[i]!;
  return sum;
}

export function trace(gram: Float64Array, count: number): number {
  let sum = 0;
  for (let a = 0; a < count; a += 1) sum += gram[a * count + a]!;
  return sum;
}

/** [count] row · v: what each feature reads from a fixed residual vector (e.g. a LayerNorm bias). */
export function rowsDotVector(rows: Float64Array, v: ArrayLike<number>): Float64Array {
  const width = v.length;
  const out = new Float64Array(rows.length / width);
  for (let a = 0; a < out.length; a += 1) {
    let dot = 0;
    for (let r = 0; r < width; r += 1) dot += rows[a * width + r]! * v[r]!;
    out[a] = dot;
  }
  return out;
}

/** target += Σₐ coefficients[a] · row a: what fixed feature values write to the residual stream. */
export function addWeightedRows(target: Float64Array, rows: Float64Array, coefficients: ArrayLike<number>): void {
  const width = target.length;
  for (let a = 0; a < coefficients.length; a += 1) {
    const c = coefficients[a]!;
    if (c === 0) continue;
    for (let r = 0; r < width; r += 1) target[r]! += c * rows[a * width + r]!;
  }
}

/** The vector minus its mean. */
export function centered(vector: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(vector as ArrayLike<number>);
  centerRows(out, out.length);
  return out;
}
