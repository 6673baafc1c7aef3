/**
 * Runs a model folder's ONNX graph with diagnostics on token-id prompts, one at a time and then
 * together as one right-padded batch, and returns each diagnostic column's largest difference
 * from the float64 reference (reference-diagnostics.ts), measured as the column's tolerance is
 * stated: absolute for bounded values (cosines, shares, attention), relative for magnitudes,
 * and for `massive_dim` the number of positions whose dimension differs although the reference's
 * largest |x_i| beats the second by more than 1e-3 (relative).
 */
import assert from 'node:assert/strict';
import { planExternalData } from '../../src/graph/external-data.js';
import { availableHooks, buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import type { DiagnosticSelection } from '../../src/results/diagnostics.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import { maxMargin, referenceDiagnostics, type ReferenceDiagnostics } from './reference-diagnostics.js';
import type { BlockTrace } from './reference-ops.js';

export type Measure = 'absolute' | 'relative' | 'mismatches';

export function measureOf(column: string): Measure {
  if (column === 'massive_dim') return 'mismatches';
  if (/^(cos_|sink_mass|massive_top)/.test(column)) return 'absolute';
  return 'relative';
}

export interface DiagnosticsAgreement {
  /** Column → its largest difference from the reference (see measureOf). */
  errors: Map<string, number>;
  /** Largest relative difference between the padded batch and the one-at-a-time runs, over every diagnostic value. */
  batchVsSingle: number;
  /** Values compared per column (to show the comparison was not empty). */
  compared: Map<string, number>;
}

export async function diagnosticsAgainstReference(
  dir: string,
  prompts: number[][],
  selection: DiagnosticSelection,
  reference: (ids: number[], trace: BlockTrace[]) => void,
): Promise<DiagnosticsAgreement> {
  const model = await loadModel(dir);
  const { spec } = model;
  const shape = { ...spec.dims, parallelResidual: spec.parallelResidual };
  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(spec, { hooks: availableHooks(spec), layout, diagnostics: selection });
  assert.ok(graph.diagnostics.length > 0, 'the graph has diagnostic outputs');
  const names = graph.diagnostics.map((output) => output.name);
  const session = await createNormSession(graph.bytes, layout.folder, { device: 'cpu', threads: 1 });
  const expected: Array<{ values: ReferenceDiagnostics; residPost: Float64Array[][] }> = prompts.map((ids) => {
    const trace: BlockTrace[] = [];
    reference(ids, trace);
    assert.equal(trace.length, spec.dims.nLayers, 'the reference traces every block');
    return { values: referenceDiagnostics(trace, selection, shape), residPost: trace.map((block) => block.residPost) };
  });
  const errors = new Map<string, number>();
  const compared = new Map<string, number>();
  // [prompt][column] → the single run's values, [position × length]
  const single: Float32Array[][] = [];
  let batchVsSingle = 0;
  const compare = (outputs: Map<string, Float32Array>, row: number, width: number, promptIndex: number, batched: boolean) => {
    graph.diagnostics.forEach(({ column, name }, c) => {
      const length = prompts[promptIndex]!.length;
      const all = outputs.get(name)!;
      assert.equal(all.length % (width * column.length), 0, `${name} size`);
      const actual = all.subarray(row * width * column.length, (row * width + length) * column.length);
      if (batched) {
        const alone = single[promptIndex]![c]!;
        actual.forEach((value, i) => (batchVsSingle = Math.max(batchVsSingle, Math.abs(value - alone[i]!) / Math.max(Math.abs(alone[i]!), 1e-6))));
      } else {
        (single[promptIndex] ??= [])[c] = Float32Array.from(actual);
      }
      const rows = expected[promptIndex]!.values.get(column.name)!;
      const measure = measureOf(column.name);
      let worst = errors.get(column.name) ?? 0;
      rows.forEach((values, position) => {
        assert.equal(values.length, column.length, `${column.name} list length`);
        values.forEach((value, i) => {
          const got = actual[position * column.length + i]!;
          if (measure === 'mismatches') {
            const clear = maxMargin(expected[promptIndex]!.residPost[i]![position]!) > 1e-3;
            if (clear && got !== value) worst += 1;
          } else {
            const difference = Math.abs(got - value);
            worst = Math.max(worst, measure === 'absolute' ? difference : difference / Math.max(Math.abs(value), 1e-6));
          }
        });
      });
      errors.set(column.name, worst);
      compared.set(column.name, (compared.get(column.name) ?? 0) + rows.length * column.length);
    });
  };
  try {
    for (const [index, ids] of prompts.entries()) {
      compare(await session.run(BigInt64Array.from(ids, BigInt), 1, ids.length, names), 0, ids.length, index, false);
    }
    const width = Math.max(...prompts.map((ids) => ids.length));
    const padded = new BigInt64Array(prompts.length * width); // padding id 0
    prompts.forEach((ids, row) => ids.forEach((id, position) => (padded[row * width + position] = BigInt(id))));
    const outputs = await session.run(padded, prompts.length, width, names);
    prompts.forEach((_, row) => compare(outputs, row, width, row, true));
  } finally {
    await session.release();
  }
  return { errors, batchVsSingle, compared };
}
