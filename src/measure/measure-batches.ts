/**
 * `measure`'s run phase: the batches its checkpoint does not hold, through the whole graph's
 * session (./run-batches.ts) or block by block (./streamed-batches.ts), each appended to the
 * checkpoint as it finishes. A run that fails before its first batch leaves no checkpoint.
 */
import type { TransformerSpec } from '../architectures/types.js';
import { UsageError, quote } from '../errors.js';
import type { ExternalDataLayout } from '../graph/external-data.js';
import type { BuiltGraph } from '../graph/transformer-graph.js';
import { describeWriteFailure } from '../io/output-file.js';
import type { Reporter } from '../messages/reporter.js';
import type { DiagnosticSelection } from '../results/diagnostics.js';
import { formatMemorySize } from '../runtime/memory-allocation.js';
import type { NormSession, SessionOptions } from '../runtime/onnx-session.js';
import type { HookName } from '../vocabulary/hooks.js';
import { tokenCount, type Batch } from './batches.js';
import { CheckpointWriter, removeCheckpoint, type CheckpointFiles, type RunKey, type SavedCheckpoint } from './checkpoint.js';
import type { PackContext } from './collect-norms.js';
import type { ExecutionPlan, StreamedPlan } from './memory-plan.js';
import { runBatches, type RunBatchesOutcome } from './run-batches.js';
import { runStreamedBatches } from './streamed-batches.js';

export interface MeasureBatchesInput {
  planned: Array<{ position: number; batch: Batch }>;
  files: CheckpointFiles;
  key: RunKey;
  saved: SavedCheckpoint | undefined;
  pack: PackContext;
  graph: Pick<BuiltGraph, 'readsNextIds' | 'readsSequenceLengths'>;
  layout: ExternalDataLayout;
  spec: TransformerSpec;
  hooks: readonly HookName[];
  diagnostics: DiagnosticSelection | undefined;
  execution: ExecutionPlan;
  /** The whole graph's session (released here), or undefined to run block by block with `sessionOptions`. */
  session: NormSession | undefined;
  sessionOptions: SessionOptions;
  signal?: AbortSignal;
}

/** Every batch of `planned` in the checkpoint; returns what this run did and the checkpoint, open, to write the tables from. */
export async function measureBatches(input: MeasureBatchesInput, reporter: Reporter): Promise<{ outcome: RunBatchesOutcome; checkpoint: CheckpointWriter }> {
  const { planned, files, execution, session, spec, pack } = input;
  const totalTokens = planned.reduce((sum, { batch }) => sum + tokenCount(batch), 0);
  const progress =
    execution.kind === 'whole'
      ? reporter.progress('measuring (tokens)', totalTokens, 'items')
      : reporter.progress('measuring (tokens × blocks)', totalTokens * spec.dims.nLayers, 'items');
  let checkpoint: CheckpointWriter | undefined;
  try {
    checkpoint = openCheckpoint(files, input.key, input.saved);
    const common = { planned, checkpoint, checkpointFile: files.index, progress, ...(input.signal ? { signal: input.signal } : {}) };
    const outcome =
      session !== undefined
        ? await runBatches({
            ...common,
            collect: { ...pack, session, readsNextIds: input.graph.readsNextIds, readsSequenceLengths: input.graph.readsSequenceLengths },
          })
        : await runStreamedBatches({
            ...common,
            collect: pack,
            spec,
            layout: input.layout,
            hooks: input.hooks,
            selection: input.diagnostics ?? { diagnostics: [] },
            plan: execution as StreamedPlan,
            session: input.sessionOptions,
          }).then((run) => {
            const { chunks, weightSeconds, weightBytes, runSeconds } = run.streamed;
            reporter.info(
              `block by block: ${chunks} chunk${chunks === 1 ? '' : 's'}, ${formatMemorySize(weightBytes)} of float32 weights read in ${weightSeconds.toFixed(1)} s, ONNX Runtime ${runSeconds.toFixed(1)} s`,
            );
            return run;
          });
    return { outcome, checkpoint };
  } catch (error) {
    // A checkpoint without a finished batch has nothing to resume: don't leave it behind.
    if (checkpoint?.batches.size === 0) {
      checkpoint.close();
      removeCheckpoint(files);
    }
    throw error;
  } finally {
    progress.done();
    await session?.release();
  }
}

function openCheckpoint(files: CheckpointFiles, key: RunKey, saved: SavedCheckpoint | undefined): CheckpointWriter {
  try {
    return CheckpointWriter.open(files, key, saved);
  } catch (error) {
    throw new UsageError(
      `cannot write ${quote(files.index)}: ${describeWriteFailure((error as NodeJS.ErrnoException).code ?? String(error))}; choose another --out`,
    );
  }
}
