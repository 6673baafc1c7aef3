/**
 * The seeded randomness of `mechanisms`, so a file can be reproduced exactly: Gaussian inputs,
 * which real tokens are resampled, and which layer each layer's "random layer" resample reads.
 * Also the mean and standard error of the random inputs' probes (independent samples); the real
 * tokens' means and errors are in token-errors.ts.
 */
import { createUniform } from './seeded-random.js';

/** Random inputs per layer, and the most prompt tokens resampled, unless told otherwise. */
export const DEFAULT_SAMPLES = 1000;

/** Independent streams from one seed: one per purpose, so changing N does not change the tokens chosen. */
const STREAM = { gaussian: 0x9e3779b9, tokens: 0x85ebca6b, layers: 0xc2b2ae35 } as const;

function stream(seed: number, purpose: keyof typeof STREAM): () => number {
  return createUniform((seed ^ STREAM[purpose]) >>> 0);
}

/** [rows, d] standard normal values (Box–Muller), row-major. */
export function gaussianRows(seed: number, rows: number, d: number): Float32Array {
  const uniform = stream(seed, 'gaussian');
  const values = new Float32Array(rows * d);
  for (let i = 0; i < values.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(Math.max(uniform(), Number.MIN_VALUE)));
    const angle = 2 * Math.PI * uniform();
    values[i] = radius * Math.cos(angle);
    if (i + 1 < values.length) values[i + 1] = radius * Math.sin(angle);
  }
  return values;
}

/** `count` distinct indices of 0 … total − 1, uniformly (Floyd's algorithm), in increasing order. */
export function chooseIndices(seed: number, total: number, count: number): number[] {
  if (count > total) throw new RangeError(`cannot choose ${count} of ${total}`);
  const uniform = stream(seed, 'tokens');
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j += 1) {
    const t = Math.floor(uniform() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** For every layer, a layer drawn uniformly from all of them (it may be the same one), as the reference analysis does. */
export function randomSourceLayers(seed: number, nLayers: number): number[] {
  const uniform = stream(seed, 'layers');
  return Array.from({ length: nLayers }, () => Math.floor(uniform() * nLayers));
}

/** Mean and standard error (sample standard deviation, ddof 1, / √n; null for one sample: not estimable) of independent per-sample values. */
export function sampleMean(values: ArrayLike<number>): { mean: number; stderr: number | null; n: number } {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += values[i]!;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i += 1) squares += (values[i]! - mean) ** 2;
  const stderr = n > 1 ? Math.sqrt(squares / (n - 1) / n) : null;
  return { mean, stderr, n };
}
