/** Assertions comparing computed weight norms with the reference of weight-reference.ts. */
import assert from 'node:assert/strict';
import type { HeadNorms, WeightLayer } from '../../src/results/weights-schema.js';
import type { ReferenceNorms } from './weight-reference.js';

/** Both sides compute in float64 from the same float32 inputs: only summation order differs. */
const TOLERANCE = 1e-10;
/** Float32 products of float32 weights summed over ≤ a few hundred terms: relative error ~1e-6; 1e-5 leaves margin. */
const PRODUCT_TOLERANCE = 1e-5;
const MLP_PRODUCTS = new Set(['W_inW_out', 'b_inW_out']);

export function assertClose(actual: number | null | undefined, expected: number | null | undefined, label: string, tolerance = TOLERANCE): void {
  if (expected === null || expected === undefined) {
    assert.equal(actual, expected, label);
    return;
  }
  assert.ok(typeof actual === 'number', `${label}: expected a number, got ${actual}`);
  const error = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  assert.ok(error <= tolerance, `${label}: ${actual} vs reference ${expected} (relative error ${error.toExponential(2)})`);
}

/** Compares one variant of a computed layer with the reference, key by key (the reference's keys, so missing ones fail). */
export function assertMatchesReference(
  layer: WeightLayer,
  variant: 'raw' | 'processed',
  reference: ReferenceNorms,
  label: string,
  tolerance = TOLERANCE,
): void {
  const computed = layer[variant] as Record<string, number | null | undefined>;
  for (const [name, expected] of Object.entries(reference.layer)) {
    // The MLP products come from a float32 GEMM in ONNX Runtime, the rest from float64 loops.
    const allowed = MLP_PRODUCTS.has(name) ? Math.max(tolerance, PRODUCT_TOLERANCE) : tolerance;
    assertClose(computed[name], expected, `${label} ${variant} ${name}`, allowed);
  }
  for (const name of Object.keys(computed)) {
    if (!name.startsWith('ln')) assert.ok(name in reference.layer, `${label} ${variant}: unexpected ${name}`);
  }
  for (const [name, expected] of Object.entries(reference.heads)) {
    const heads = layer.heads[variant][name as keyof HeadNorms];
    assert.equal(heads.length, expected.length, `${label} ${variant} heads ${name}`);
    heads.forEach((value, h) => assertClose(value, expected[h]!, `${label} ${variant} ${name} head ${h}`, tolerance));
  }
}
