/**
 * Runs a model folder's ONNX graph with diagnostics on token-id prompts, one at a time and then
 * together as one right-padded batch, and returns each diagnostic column's largest difference
 * from the float64 reference (reference-diagnostics.ts), measured as the column's tolerance is
 * stated: absolute for bounded values (cosines, shares, attention), relative for magnitudes,
 * for `massive_dim` the number of positions whose dimension differs although the reference's
 * largest |x_i| beats the second by more than 1e-3 (relative), and for `lens_next_rank` the
 * number of ranks that differ although no other logit is within NEAR_TIE of the next token's
 * (where one is, the rank may differ by at most the number of such logits).
 */
import assert from 'node:assert/strict';
import { planExternalData } from '../../src/graph/external-data.js';
import { availableHooks, buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import type { DiagnosticSelection } from '../../src/results/diagnostics.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import { maxMargin, referenceDiagnostics, referenceSequenceDiagnostics, type ReferenceDiagnostics } from './reference-diagnostics.js';
import { referenceLens, type ReferenceLens } from './reference-lens.js';
import type { BlockTrace, ReferenceHead } from './reference-ops.js';

export type Measure = 'absolute' | 'relative' | 'mismatches';

/**
 * The lens's entropy is compared relative to at least this many nats: a nearly certain
 * prediction (entropy ~1e-6 nats, as a tied embedding predicting its own token) is computed as
 * ln S − A/S with S within float32's resolution of 1, so its entropy is good to ~1e-7 absolute,
 * not relative.
 */
export const ENTROPY_FLOOR = 0.01;

export function measureOf(column: string): Measure {
  if (column === 'massive_dim' || column === 'lens_next_rank' || column === 'massive_seq_count') return 'mismatches';
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
  /** Lens ranks whose next token had another logit within NEAR_TIE (compared only within that margin), and how many of them differed. */
  nearTies: { ranks: number; differing: number };
}

export async function diagnosticsAgainstReference(
  dir: string,
  prompts: number[][],
  selection: DiagnosticSelection,
  reference: (ids: number[], trace: BlockTrace[]) => void,
  /** The model's head in the reference (reference-*.ts), for the logit lens. */
  head?: ReferenceHead,
): Promise<DiagnosticsAgreement> {
  const model = await loadModel(dir);
  const { spec } = model;
  const shape = { ...spec.dims, parallelResidual: spec.parallelResidual };
  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(spec, { hooks: availableHooks(spec), layout, diagnostics: selection });
  assert.ok(graph.diagnostics.length > 0, 'the graph has diagnostic outputs');
  const names = graph.diagnostics.map((output) => output.name);
  const session = await createNormSession(graph.bytes, layout.folder, { device: 'cpu', threads: 1 });
  const withLens = selection.diagnostics.includes('lens');
  if (withLens) assert.ok(head, 'the lens needs the reference head');
  const expected: Array<{ values: ReferenceDiagnostics; sequence: Map<string, number[]>; residPost: Float64Array[][]; lens?: ReferenceLens }> = prompts.map(
    (ids) => {
      const trace: BlockTrace[] = [];
      reference(ids, trace);
      assert.equal(trace.length, spec.dims.nLayers, 'the reference traces every block');
      const lens = withLens ? referenceLens(trace, head!, ids) : undefined;
      return {
        values: referenceDiagnostics(trace, selection, shape, lens),
        sequence: referenceSequenceDiagnostics(trace, selection, shape),
        residPost: trace.map((block) => block.residPost),
        ...(lens ? { lens } : {}),
      };
    },
  );
  const sequenceNames = graph.sequenceDiagnostics.map((output) => output.name);
  const nearTies = { ranks: 0, differing: 0 };
  const errors = new Map<string, number>();
  const compared = new Map<string, number>();
  // [prompt][column] → the single run's values, [position × length] ([length] for per-sequence columns)
  const single: Float32Array[][] = [];
  const singleSequence: Float32Array[][] = [];
  /** Per-sequence columns of row `row`: [layer] each, against the reference (and the single run when batched). */
  const compareSequences = (outputs: Map<string, Float32Array>, row: number, promptIndex: number, batched: boolean) => {
    graph.sequenceDiagnostics.forEach(({ column, name }, c) => {
      const actual = outputs.get(name)!.subarray(row * column.length, (row + 1) * column.length);
      if (batched) {
        const alone = singleSequence[promptIndex]![c]!;
        actual.forEach((value, i) => (batchVsSingle = Math.max(batchVsSingle, Math.abs(value - alone[i]!) / Math.max(Math.abs(alone[i]!), 1e-6))));
      } else {
        (singleSequence[promptIndex] ??= [])[c] = Float32Array.from(actual);
      }
      const want = expected[promptIndex]!.sequence.get(column.name)!;
      let worst = errors.get(column.name) ?? 0;
      want.forEach((value, layer) => {
        const got = actual[layer]!;
        if (measureOf(column.name) === 'mismatches') worst += got === value ? 0 : 1;
        else worst = Math.max(worst, Math.abs(got - value) / Math.max(Math.abs(value), 1e-6));
      });
      errors.set(column.name, worst);
      compared.set(column.name, (compared.get(column.name) ?? 0) + want.length);
    });
  };
  let batchVsSingle = 0;
  const compare = (outputs: Map<string, Float32Array>, row: number, width: number, promptIndex: number, batched: boolean) => {
    graph.diagnostics.forEach(({ column, name }, c) => {
      const length = prompts[promptIndex]!.length;
      const all = outputs.get(name)!;
      assert.equal(all.length % (width * column.length), 0, `${name} size`);
      const actual = all.subarray(row * width * column.length, (row * width + length) * column.length);
      if (batched) {
        const alone = single[promptIndex]![c]!;
        const floor = column.name === 'lens_entropy' ? ENTROPY_FLOOR : 1e-6;
        actual.forEach((value, i) => (batchVsSingle = Math.max(batchVsSingle, Math.abs(value - alone[i]!) / Math.max(Math.abs(alone[i]!), floor))));
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
          if (column.name === 'lens_next_rank') {
            const ties = expected[promptIndex]!.lens!.nearTies[position]![i]!;
            if (ties === 0 && got !== value) worst += 1;
            if (ties > 0 && !batched) nearTies.ranks += 1;
            if (ties > 0 && !batched && got !== value) nearTies.differing += 1;
            if (Math.abs(got - value) > ties) worst += 1; // never more than the near ties apart
          } else if (measure === 'mismatches') {
            const clear = maxMargin(expected[promptIndex]!.residPost[i]![position]!) > 1e-3;
            if (clear && got !== value) worst += 1;
          } else {
            const difference = Math.abs(got - value);
            worst = Math.max(
              worst,
              measure === 'absolute' ? difference : difference / Math.max(Math.abs(value), column.name === 'lens_entropy' ? ENTROPY_FLOOR : 1e-6),
            );
          }
        });
      });
      errors.set(column.name, worst);
      compared.set(column.name, (compared.get(column.name) ?? 0) + rows.length * column.length);
    });
  };
  try {
    // next_ids (the lens): the token after each position, −1 at the last one and in the padding.
    const nextOf = (ids: number[], width: number) => BigInt64Array.from({ length: width }, (_, p) => BigInt(p + 1 < ids.length ? ids[p + 1]! : -1));
    const lengths = (rows: number[][]) => (graph.readsSequenceLengths ? BigInt64Array.from(rows, (ids) => BigInt(ids.length)) : undefined);
    for (const [index, ids] of prompts.entries()) {
      const outputs = await session.run(
        BigInt64Array.from(ids, BigInt),
        1,
        ids.length,
        [...names, ...sequenceNames],
        graph.readsNextIds ? nextOf(ids, ids.length) : undefined,
        lengths([ids]),
      );
      compare(outputs, 0, ids.length, index, false);
      compareSequences(outputs, 0, index, false);
    }
    const width = Math.max(...prompts.map((ids) => ids.length));
    const padded = new BigInt64Array(prompts.length * width); // padding id 0
    prompts.forEach((ids, row) => ids.forEach((id, position) => (padded[row * width + position] = BigInt(id))));
    const paddedNext = new BigInt64Array(prompts.length * width);
    prompts.forEach((ids, row) => paddedNext.set(nextOf(ids, width), row * width));
    const outputs = await session.run(
      padded,
      prompts.length,
      width,
      [...names, ...sequenceNames],
      graph.readsNextIds ? paddedNext : undefined,
      lengths(prompts),
    );
    prompts.forEach((_, row) => compare(outputs, row, width, row, true));
    prompts.forEach((_, row) => compareSequences(outputs, row, row, true));
  } finally {
    await session.release();
  }
  return { errors, batchVsSingle, compared, nearTies };
}
