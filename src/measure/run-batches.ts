/**
 * The measuring loop: runs the batches a checkpoint does not already hold, appends each
 * finished batch to the checkpoint, and stops between batches when asked to (SIGINT/SIGTERM),
 * so an interrupted run loses at most the batch in flight.
 */
import type { Progress } from '../cli/reporter.js';
import { InterruptedError, UsageError, quote } from '../errors.js';
import { tokenCount, type Batch } from './batches.js';
import { decodeNorms, encodeNorms, type CheckpointWriter, type FinishedBatch } from './checkpoint.js';
import { collectBatch, type CollectContext, type PackedNorms } from './collect-norms.js';

export interface RunBatchesInput {
  planned: Array<{ position: number; batch: Batch }>;
  saved: readonly FinishedBatch[];
  checkpoint: CheckpointWriter;
  checkpointFile: string;
  collect: CollectContext;
  progress: Progress;
  signal?: AbortSignal;
}

export interface RunBatchesOutcome {
  /** By prompt-file index. */
  results: Map<number, PackedNorms>;
  /** Work done in this run (resumed batches excluded). */
  tokens: number;
  seconds: number;
  resumedBatches: number;
}

export async function runBatches(input: RunBatchesInput): Promise<RunBatchesOutcome> {
  const { planned, saved, checkpoint, collect, progress, signal } = input;
  const results = new Map<number, PackedNorms>();
  const done = new Set<number>();
  const byPosition = new Map(planned.map((entry) => [entry.position, entry.batch]));
  for (const finished of saved) {
    const batch = byPosition.get(finished.position);
    const indices = batch?.members.map((member) => member.index);
    if (!batch || JSON.stringify(indices) !== JSON.stringify(finished.indices)) {
      throw new UsageError(`${quote(input.checkpointFile)} holds batches this run would not make; rerun with --restart to discard it`);
    }
    batch.members.forEach((sequence, row) => results.set(sequence.index, { sequence, values: decodeNorms(finished.norms[row]!) }));
    done.add(finished.position);
    progress.tick(tokenCount(batch));
  }

  let tokens = 0;
  const startedAt = performance.now();
  for (const { position, batch } of planned) {
    if (done.has(position)) continue;
    if (signal?.aborted) {
      throw new InterruptedError(
        `interrupted after ${done.size} of ${planned.length} batches; they are saved in ${quote(input.checkpointFile)}: run the same command again to resume`,
      );
    }
    const collected = await collectBatch(batch, collect);
    await checkpoint.append({ position, indices: collected.map(({ sequence }) => sequence.index), norms: collected.map(({ values }) => encodeNorms(values)) });
    for (const packed of collected) results.set(packed.sequence.index, packed);
    done.add(position);
    tokens += tokenCount(batch);
    progress.tick(tokenCount(batch));
  }
  return { results, tokens, seconds: (performance.now() - startedAt) / 1000, resumedBatches: saved.length };
}
