/**
 * Runs planned batches through a session and packs each sequence's [batch, pos] outputs,
 * leaving padded positions out. Non-finite values (e.g. fp16 overflow) stop the run with a
 * message naming the hook, layer and prompt.
 */
import { NumericalError } from '../errors.js';
import { packedLength, type PackedLayout } from '../store/packed-layout.js';
import type { NormSession } from '../runtime/onnx-session.js';
import { batchInputIds, batchNextIds, type Batch } from './batches.js';
import type { Sequence } from './sequences.js';

/** What packing a batch's outputs needs: where each value goes (the layout), and whose they are. */
export interface PackContext extends PackedLayout {
  modelId: string;
}

export interface CollectContext extends PackContext {
  session: NormSession;
  /** The graph reads next_ids (the logit lens). */
  readsNextIds?: boolean;
  /** The graph reads sequence_lengths (per-sequence diagnostics). */
  readsSequenceLengths?: boolean;
}

/** One sequence's values as the graph gave them, packed as store/packed-layout.ts says (as checkpoints store them). */
export interface PackedNorms {
  sequence: Sequence;
  values: Float32Array;
}

/** Run one batch; returns each member's packed norms, padding left out. */
export async function collectBatch(batch: Batch, context: CollectContext): Promise<PackedNorms[]> {
  const outputs = [...context.outputNames, ...context.diagnostics.map(({ name }) => name), ...context.sequenceDiagnostics.map(({ name }) => name)];
  const lengths = context.readsSequenceLengths ? batchSequenceLengths(batch) : undefined;
  const values = await context.session.run(
    batchInputIds(batch),
    batch.members.length,
    batch.length,
    outputs,
    context.readsNextIds ? batchNextIds(batch) : undefined,
    lengths,
  );
  return packBatch(batch, values, context);
}

/** int64 [batch]: each row's real tokens. */
export function batchSequenceLengths(batch: Batch): BigInt64Array {
  return BigInt64Array.from(batch.members, (member) => BigInt(member.ids.length));
}

/**
 * Each member's packed norms from a batch's outputs (each [batch, pos, …] by output name, as the
 * whole graph gives them or a streamed run assembles them), padding left out; a non-finite norm
 * stops the run, naming where it is.
 */
export function packBatch(batch: Batch, values: ReadonlyMap<string, Float32Array>, context: PackContext): PackedNorms[] {
  const { outputNames, diagnostics, sequenceDiagnostics } = context;
  return batch.members.map((sequence, row) => {
    const length = sequence.ids.length;
    const packed = new Float32Array(packedLength(context, length));
    outputNames.forEach((name, k) => {
      const data = values.get(name)!.subarray(row * batch.length, row * batch.length + length);
      const bad = data.findIndex((value) => !Number.isFinite(value));
      if (bad >= 0) throw nonFinite(context, name, data[bad]!, sequence, bad);
      packed.set(data, k * length);
    });
    // Diagnostics are written as computed (a zero vector gives a cosine of 0, not NaN); finiteness is checked on the norms.
    diagnostics.forEach(({ name, column }, c) => {
      const start = row * batch.length * column.length;
      packed.set(values.get(name)!.subarray(start, start + length * column.length), (outputNames.length + context.tokenColumns.starts[c]!) * length);
    });
    sequenceDiagnostics.forEach(({ name, column }, c) => {
      packed.set(
        values.get(name)!.subarray(row * column.length, (row + 1) * column.length),
        context.floatsPerToken * length + context.sequenceColumns.starts[c]!,
      );
    });
    return { sequence, values: packed };
  });
}

function nonFinite(context: PackContext, name: string, value: number, sequence: Sequence, position: number): NumericalError {
  const output = context.outputs.find((o) => o.name === name)!;
  return new NumericalError(
    `${context.modelId} produced ${value} at blocks.${output.layer}.hook_${output.hook} (${output.metric} norm), ` +
      `prompt ${sequence.index + 1}, position ${position}; the weights may overflow in this dtype`,
  );
}
