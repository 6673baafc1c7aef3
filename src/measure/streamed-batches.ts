/**
 * measure's batches run block by block (streamed-run.ts) when the model would not fit the
 * memory budget whole (memory-plan.ts): each block's hook norms and diagnostics, and the lens of
 * every stream, are assembled into the outputs the whole model's graph would have given for the
 * batch (same names, same [batch, pos, …] layout), packed as runBatches packs them, and appended
 * to the checkpoint chunk by chunk. So a streamed run's checkpoint, tables and summaries are
 * those of a whole-graph run, to float32 rounding, and either kind of run resumes the other.
 */
import type { TransformerSpec } from '../architectures/types.js';
import { InterruptedError, quote } from '../errors.js';
import { SEQUENCE_LENGTHS } from '../graph/diagnostics-graph.js';
import type { ExternalDataLayout } from '../graph/external-data.js';
import { buildLensGraph, buildMeasureBlockGraph, LENS_OUTPUTS, type MeasureBlockOutputs, type StreamGraph } from '../graph/streamed-graphs.js';
import { LENS_COLUMNS, type DiagnosticSelection } from '../results/diagnostics.js';
import type { SessionOptions } from '../runtime/onnx-session.js';
import type { Feed } from '../runtime/tensor-session.js';
import type { HookName } from '../vocabulary/hooks.js';
import { batchInputIds, batchNextIds, tokenCount, type Batch } from './batches.js';
import { batchSequenceLengths, packBatch, type PackContext } from './collect-norms.js';
import type { StreamedPlan } from './memory-plan.js';
import { appendBatch, countResumedBatches, type RunBatchesInput, type RunBatchesOutcome } from './run-batches.js';
import { runStreamed, type RunOutputs, type StreamedBatch, type StreamedStats } from './streamed-run.js';

export interface StreamedBatchesInput extends Omit<RunBatchesInput, 'collect'> {
  collect: PackContext;
  spec: TransformerSpec;
  layout: ExternalDataLayout;
  hooks: readonly HookName[];
  selection: DiagnosticSelection;
  /** The plan of the batches not yet in the checkpoint, in `planned` order. */
  plan: StreamedPlan;
  session: SessionOptions;
}

/** Copy `source` [rows, length, width] into `target` [.., length, stride] at rows from rowStart, columns from `column`. */
function copyColumns(
  target: Float32Array,
  source: Float32Array,
  run: Pick<RunOutputs, 'rowStart' | 'rows'>,
  length: number,
  width: number,
  stride: number,
  column: number,
): void {
  for (let token = 0; token < run.rows * length; token += 1) {
    const to = (run.rowStart * length + token) * stride + column;
    for (let k = 0; k < width; k += 1) target[to + k] = source[token * width + k]!;
  }
}

export async function runStreamedBatches(input: StreamedBatchesInput): Promise<RunBatchesOutcome & { streamed: StreamedStats }> {
  const { planned, checkpoint, collect, spec, plan, progress, signal } = input;
  const { nLayers } = spec.dims;
  const resumedBatches = countResumedBatches(input, nLayers);
  const todo = planned.filter(({ position }) => !checkpoint.batches.has(position));
  const lens = input.selection.diagnostics.includes('lens');
  const streamed: StreamedBatch[] = todo.map(({ batch }) => ({
    ids: batchInputIds(batch),
    rows: batch.members.length,
    length: batch.length,
    tokens: tokenCount(batch),
    ...(lens ? { nextIds: batchNextIds(batch) } : {}),
  }));

  // Which graph output of the whole model each (layer, hook, metric) fills: the first entry naming it.
  const owner = new Map<string, string>();
  const owned = new Set<string>();
  for (const output of collect.outputs) {
    if (owned.has(output.name)) continue;
    owned.add(output.name);
    owner.set(`${output.layer}|${output.hook}|${output.metric}`, output.name);
  }
  const diagnostics = new Map([...(collect.diagnostics ?? []), ...(collect.sequenceDiagnostics ?? [])].map((output) => [output.column.name, output]));
  const perSequence = new Set((collect.sequenceDiagnostics ?? []).map(({ column }) => column.name));
  const onlyResidPre = input.hooks.every((hook) => hook === 'resid_pre');
  const blockOutputs = new Map<number, MeasureBlockOutputs>();
  const blockGraph = (layer: number): StreamGraph => {
    // The last block's stream is read by nothing but its norms, the lens and the diagnostics.
    const outputsResidual = layer < nLayers - 1 || !onlyResidPre || input.selection.diagnostics.length > 0;
    const graph = buildMeasureBlockGraph(spec, layer, input.hooks, input.selection, { outputsResidual });
    blockOutputs.set(layer, {
      hooks: graph.hooks,
      diagnostics: graph.diagnostics,
      sequenceDiagnostics: graph.sequenceDiagnostics,
      readsSequenceLengths: graph.readsSequenceLengths,
    });
    return graph;
  };

  // Each batch of the chunk in flight: the whole graph's outputs, filled run by run.
  const values = new Map<number, Map<string, Float32Array>>();
  const valuesOf = (index: number) => {
    let map = values.get(index);
    if (map === undefined) {
      const { rows, length } = streamed[index]!;
      map = new Map();
      for (const name of collect.outputNames) map.set(name, new Float32Array(rows * length));
      for (const { name, column } of diagnostics.values()) map.set(name, new Float32Array(rows * (perSequence.has(column.name) ? 1 : length) * column.length));
      values.set(index, map);
    }
    return map;
  };

  let tokens = 0;
  const startedAt = performance.now();
  const stats = await runStreamed(
    { spec, layout: input.layout, blockGraph, ...(lens ? { lensGraph: buildLensGraph(spec) } : {}) },
    streamed,
    plan,
    {
      block: (layer, run) => {
        const into = valuesOf(run.batch);
        const { length } = streamed[run.batch]!;
        const outputs = blockOutputs.get(layer)!;
        for (const hook of outputs.hooks) {
          const name = owner.get(`${layer}|${hook.hook}|${hook.metric}`);
          if (name !== undefined) into.get(name)!.set(run.values.get(hook.name)!, run.rowStart * length);
        }
        for (const { name, column } of outputs.diagnostics) {
          const whole = diagnostics.get(column.name)!;
          copyColumns(into.get(whole.name)!, run.values.get(name)!, run, length, column.perLayer, whole.column.length, layer * column.perLayer);
        }
        for (const { name, column } of outputs.sequenceDiagnostics) {
          const whole = diagnostics.get(column.name)!;
          copyColumns(into.get(whole.name)!, run.values.get(name)!, run, 1, column.perLayer, whole.column.length, layer * column.perLayer);
        }
      },
      lens: (stream, run) => {
        const into = valuesOf(run.batch);
        const { length } = streamed[run.batch]!;
        for (const [column, output] of [
          [LENS_COLUMNS.entropy, LENS_OUTPUTS.entropy],
          [LENS_COLUMNS.rank, LENS_OUTPUTS.rank],
        ] as const) {
          const whole = diagnostics.get(column)!;
          copyColumns(into.get(whole.name)!, run.values.get(output)!, run, length, 1, whole.column.length, stream);
        }
      },
      feeds: (layer, index, rowStart, rows): Record<string, Feed> => {
        if (!blockOutputs.get(layer)!.readsSequenceLengths) return {};
        const lengths = batchSequenceLengths(todo[index]!.batch).subarray(rowStart, rowStart + rows);
        return { [SEQUENCE_LENGTHS]: { type: 'int64', data: lengths, dims: [rows] } };
      },
      chunkDone: (chunk) => {
        for (const index of chunk) {
          const { position, batch } = todo[index]!;
          appendBatch(input, position, packBatch(batch as Batch, valuesOf(index), collect));
          values.delete(index);
          tokens += tokenCount(batch);
        }
      },
      stop: (chunk) => {
        if (!signal?.aborted) return;
        throw new InterruptedError(
          `interrupted after ${checkpoint.batches.size} of ${planned.length} batches; they are saved in ${quote(input.checkpointFile)} ` +
            `(the ${chunk.length} batch${chunk.length === 1 ? '' : 'es'} of the chunk in flight will be measured again): run the same command again to resume`,
        );
      },
    },
    { session: input.session, progress },
  );
  return { tokens, seconds: (performance.now() - startedAt) / 1000, resumedBatches, streamed: stats };
}
