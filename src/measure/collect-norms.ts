/**
 * Runs planned batches through a session and packs each sequence's [batch, pos] outputs,
 * leaving padded positions out. Non-finite values (e.g. fp16 overflow) stop the run with a
 * message naming the hook, layer and prompt.
 */
import { NumericalError } from '../errors.js';
import type { DiagnosticOutput } from '../graph/diagnostics-graph.js';
import type { HookOutput } from '../graph/transformer-graph.js';
import type { HookName } from '../vocabulary/hooks.js';
import { normColumns } from '../store/result-tables.js';
import type { NormSession } from '../runtime/onnx-session.js';
import { batchInputIds, batchNextIds, type Batch } from './batches.js';
import type { Sequence } from './sequences.js';

/** What packing a batch's outputs needs: which outputs there are and where they go. */
export interface PackContext {
  /** Every (layer, hook, metric) measured, and the graph output carrying it. */
  outputs: readonly HookOutput[];
  /** The graph's distinct outputs, in the order packed norms store them. */
  outputNames: readonly string[];
  hooks: readonly HookName[];
  nLayers: number;
  modelId: string;
  /** Diagnostic outputs (measure --diagnostics), packed after the norms; none when absent. */
  diagnostics?: readonly DiagnosticOutput[];
  /** Per-sequence diagnostic outputs (massive-sequence), packed last; none when absent. */
  sequenceDiagnostics?: readonly DiagnosticOutput[];
}

export interface CollectContext extends PackContext {
  session: NormSession;
  /** The graph reads next_ids (the logit lens). */
  readsNextIds?: boolean;
  /** The graph reads sequence_lengths (per-sequence diagnostics). */
  readsSequenceLengths?: boolean;
}

/** float32 values a checkpoint holds per token: one per norm output, then each diagnostic's list. */
export function floatsPerToken(context: Pick<PackContext, 'outputNames' | 'diagnostics'>): number {
  return context.outputNames.length + (context.diagnostics ?? []).reduce((sum, { column }) => sum + column.length, 0);
}

/** float32 values a checkpoint holds per sequence besides its tokens': each per-sequence diagnostic's list. */
export function floatsPerSequence(context: Pick<PackContext, 'sequenceDiagnostics'>): number {
  return (context.sequenceDiagnostics ?? []).reduce((sum, { column }) => sum + column.length, 0);
}

/** float32 values a checkpoint holds for a sequence of `length` tokens. */
export function packedLength(context: Pick<PackContext, 'outputNames' | 'diagnostics' | 'sequenceDiagnostics'>, length: number): number {
  return floatsPerToken(context) * length + floatsPerSequence(context);
}

/**
 * One sequence's norms as the graph gave them: float32 [output][position], outputs in
 * `outputNames` order, as checkpoints store them; `packedSlots` says where each table column is.
 * Diagnostics follow: [column][position][list], columns in `diagnostics` order; then the
 * per-sequence diagnostics: [column][list], columns in `sequenceDiagnostics` order.
 */
export interface PackedNorms {
  sequence: Sequence;
  values: Float32Array;
}

/** Run one batch; returns each member's packed norms, padding left out. */
export async function collectBatch(batch: Batch, context: CollectContext): Promise<PackedNorms[]> {
  const outputs = [...context.outputNames, ...(context.diagnostics ?? []).map(({ name }) => name), ...(context.sequenceDiagnostics ?? []).map(({ name }) => name)];
  const lengths = context.readsSequenceLengths ? batchSequenceLengths(batch) : undefined;
  const values = await context.session.run(batchInputIds(batch), batch.members.length, batch.length, outputs, context.readsNextIds ? batchNextIds(batch) : undefined, lengths);
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
  const { outputNames } = context;
  const diagnostics = context.diagnostics ?? [];
  const sequenceDiagnostics = context.sequenceDiagnostics ?? [];
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
    let offset = outputNames.length * length;
    for (const { name, column } of diagnostics) {
      const start = row * batch.length * column.length;
      packed.set(values.get(name)!.subarray(start, start + length * column.length), offset);
      offset += length * column.length;
    }
    for (const { name, column } of sequenceDiagnostics) {
      packed.set(values.get(name)!.subarray(row * column.length, (row + 1) * column.length), offset);
      offset += column.length;
    }
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

/**
 * Where each (norm column, layer) of the tables sits in a packed sequence: the slot of its graph
 * output, at c × nLayers + l for the columns of `normColumns(hooks)`.
 */
export function packedSlots(context: Pick<PackContext, 'outputs' | 'outputNames' | 'hooks' | 'nLayers'>): Int32Array {
  const { nLayers } = context;
  const columns = normColumns(context.hooks);
  const slot = new Map(context.outputNames.map((name, k) => [name, k]));
  const slots = new Int32Array(columns.length * nLayers).fill(-1);
  for (const output of context.outputs) {
    const c = columns.findIndex((column) => column.hook === output.hook && column.metric === output.metric);
    if (c >= 0) slots[c * nLayers + output.layer] = slot.get(output.name)!;
  }
  const missing = slots.indexOf(-1);
  if (missing >= 0) throw new Error(`no graph output for ${columns[Math.floor(missing / nLayers)]!.name} at layer ${missing % nLayers}`);
  return slots;
}
