/**
 * The packed form of one measured sequence, as the graph's outputs give it and checkpoints hold
 * it (float32): the norms, [output][position], outputs in `outputNames` order; then the per-token
 * diagnostics, [column][position][list], columns in `diagnostics` order; then the per-sequence
 * diagnostics, [column][list]. Built once from the graph; packing (measure/collect-norms.ts),
 * checkpoint offsets, unpacking into the tables (./result-tables-writer.ts) and the summaries'
 * look-ups (./diagnostic-summaries.ts) all read it from here.
 */
import type { DiagnosticOutput } from '../graph/diagnostics-graph.js';
import type { HookOutput } from '../graph/transformer-graph.js';
import type { DiagnosticColumn } from '../results/diagnostics.js';
import type { HookName } from '../vocabulary/hooks.js';
import { normColumns } from './result-tables.js';

/** Diagnostic columns laid end to end: where each starts (in values per position or per sequence) and their total width. */
export interface ColumnOffsets {
  columns: readonly DiagnosticColumn[];
  /** Start of column i, in values: × length for a per-token column's start in a sequence. */
  starts: readonly number[];
  /** Values of all the columns together (per position, or per sequence). */
  width: number;
}

export function columnOffsets(columns: readonly DiagnosticColumn[]): ColumnOffsets {
  const starts: number[] = [];
  let width = 0;
  for (const column of columns) {
    starts.push(width);
    width += column.length;
  }
  return { columns, starts, width };
}

/** Start of the column named `name` (ColumnOffsets.starts), or undefined when there is none. */
export function startOf(offsets: ColumnOffsets, name: string): number | undefined {
  const index = offsets.columns.findIndex((column) => column.name === name);
  return index < 0 ? undefined : offsets.starts[index];
}

/** What a graph tells of its outputs (graph/transformer-graph.ts's TransformerGraph). */
export interface GraphOutputs {
  outputs: readonly HookOutput[];
  outputNames: readonly string[];
  diagnostics: readonly DiagnosticOutput[];
  sequenceDiagnostics: readonly DiagnosticOutput[];
}

export interface PackedLayout extends GraphOutputs {
  hooks: readonly HookName[];
  nLayers: number;
  /** Slot of (norm column c, layer l) at c × nLayers + l, columns in `normColumns(hooks)` order. */
  slots: Int32Array;
  tokenColumns: ColumnOffsets;
  sequenceColumns: ColumnOffsets;
  /** float32 values per token: one per norm output, then each per-token diagnostic's list. */
  floatsPerToken: number;
  /** float32 values per sequence besides its tokens': each per-sequence diagnostic's list. */
  floatsPerSequence: number;
}

export function packedLayoutOf(graph: GraphOutputs, hooks: readonly HookName[], nLayers: number): PackedLayout {
  const tokenColumns = columnOffsets(graph.diagnostics.map(({ column }) => column));
  const sequenceColumns = columnOffsets(graph.sequenceDiagnostics.map(({ column }) => column));
  return {
    outputs: graph.outputs,
    outputNames: graph.outputNames,
    diagnostics: graph.diagnostics,
    sequenceDiagnostics: graph.sequenceDiagnostics,
    hooks,
    nLayers,
    slots: normSlots(graph, hooks, nLayers),
    tokenColumns,
    sequenceColumns,
    floatsPerToken: graph.outputNames.length + tokenColumns.width,
    floatsPerSequence: sequenceColumns.width,
  };
}

/** float32 values a packed sequence of `length` tokens holds. */
export function packedLength(layout: Pick<PackedLayout, 'floatsPerToken' | 'floatsPerSequence'>, length: number): number {
  return layout.floatsPerToken * length + layout.floatsPerSequence;
}

/** A packed sequence's three parts, as the tables writer takes them (result-tables-writer.ts's SequenceNorms). */
export function unpackSequence(
  layout: PackedLayout,
  values: Float32Array,
  length: number,
): { values: Float32Array; slots: Int32Array; diagnostics?: Float32Array; sequenceDiagnostics?: Float32Array } {
  const norms = layout.outputNames.length * length;
  const tokens = layout.floatsPerToken * length;
  return {
    values,
    slots: layout.slots,
    ...(layout.tokenColumns.columns.length > 0 ? { diagnostics: values.subarray(norms, tokens) } : {}),
    ...(layout.sequenceColumns.columns.length > 0 ? { sequenceDiagnostics: values.subarray(tokens) } : {}),
  };
}

/**
 * Where each (norm column, layer) of the tables sits: the slot of its graph output, at
 * c × nLayers + l for the columns of `normColumns(hooks)`.
 */
export function normSlots(graph: Pick<GraphOutputs, 'outputs' | 'outputNames'>, hooks: readonly HookName[], nLayers: number): Int32Array {
  const columns = normColumns(hooks);
  const slot = new Map(graph.outputNames.map((name, k) => [name, k]));
  const slots = new Int32Array(columns.length * nLayers).fill(-1);
  for (const output of graph.outputs) {
    const c = columns.findIndex((column) => column.hook === output.hook && column.metric === output.metric);
    if (c >= 0) slots[c * nLayers + output.layer] = slot.get(output.name)!;
  }
  const missing = slots.indexOf(-1);
  if (missing >= 0) throw new Error(`no graph output for ${columns[Math.floor(missing / nLayers)]!.name} at layer ${missing % nLayers}`);
  return slots;
}
