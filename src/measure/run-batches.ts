/**
 * The measuring loop: runs the batches a checkpoint does not already hold, appends each
 * finished batch to the checkpoint (nothing is kept in memory), and stops between batches when
 * asked to (SIGINT/SIGTERM), so an interrupted run loses at most the batch in flight.
 */
import type { Progress } from '../messages/reporter.js';
import { InterruptedError, UsageError, quote } from '../errors.js';
import { describeWriteFailure } from '../results/atomic-write.js';
import { tokenCount, type Batch } from './batches.js';
import type { CheckpointWriter } from './checkpoint.js';
import { packedLength } from '../store/packed-layout.js';
import { collectBatch, type CollectContext, type PackContext, type PackedNorms } from './collect-norms.js';

export interface RunBatchesInput {
  planned: Array<{ position: number; batch: Batch }>;
  checkpoint: CheckpointWriter;
  checkpointFile: string;
  collect: CollectContext;
  progress: Progress;
  signal?: AbortSignal;
}

export interface RunBatchesOutcome {
  /** Work done in this run (resumed batches excluded). */
  tokens: number;
  seconds: number;
  resumedBatches: number;
}

export async function runBatches(input: RunBatchesInput): Promise<RunBatchesOutcome> {
  const { planned, checkpoint, collect, progress, signal } = input;
  const resumedBatches = countResumedBatches(input);
  let tokens = 0;
  const startedAt = performance.now();
  for (const { position, batch } of planned) {
    if (checkpoint.batches.has(position)) continue;
    if (signal?.aborted) {
      throw new InterruptedError(
        `interrupted after ${checkpoint.batches.size} of ${planned.length} batches; they are saved in ${quote(input.checkpointFile)}: run the same command again to resume`,
      );
    }
    appendBatch(input, position, await collectBatch(batch, collect));
    tokens += tokenCount(batch);
    progress.tick(tokenCount(batch));
  }
  return { tokens, seconds: (performance.now() - startedAt) / 1000, resumedBatches };
}

/**
 * Checks the batches a checkpoint holds against the plan (a checkpoint of other batches is
 * refused), counts them on the progress bar (`unitsPerToken` units per token), and returns how
 * many there are.
 */
export function countResumedBatches(
  input: Pick<RunBatchesInput, 'planned' | 'checkpoint' | 'checkpointFile' | 'progress'> & {
    collect: Pick<PackContext, 'floatsPerToken' | 'floatsPerSequence'>;
  },
  unitsPerToken = 1,
): number {
  const { planned, checkpoint, collect, progress } = input;
  const byPosition = new Map(planned.map((entry) => [entry.position, entry.batch]));
  for (const finished of checkpoint.batches.values()) {
    const batch = byPosition.get(finished.position);
    const indices = batch?.members.map((member) => member.index);
    if (
      !batch ||
      JSON.stringify(indices) !== JSON.stringify(finished.indices) ||
      finished.bytes !== 4 * batch.members.reduce((sum, member) => sum + packedLength(collect, member.ids.length), 0)
    ) {
      throw new UsageError(`${quote(input.checkpointFile)} holds batches this run would not make; rerun with --restart to discard it`);
    }
    if (progress.carry) progress.carry(unitsPerToken * tokenCount(batch));
    else progress.tick(unitsPerToken * tokenCount(batch));
  }
  return checkpoint.batches.size;
}

/** Append a finished batch to the checkpoint; a write failure is named with what is kept. */
export function appendBatch(input: Pick<RunBatchesInput, 'checkpoint' | 'checkpointFile'>, position: number, collected: readonly PackedNorms[]): void {
  const { checkpoint } = input;
  try {
    checkpoint.append(
      position,
      collected.map(({ sequence }) => sequence.index),
      collected.map(({ values }) => values),
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    // What was appended before is intact (a torn write is cut on resume): say so, and why this one failed.
    throw new UsageError(
      `cannot write the checkpoint ${quote(input.checkpointFile)}: ${describeWriteFailure(code)}; ${checkpoint.batches.size} finished batches are kept: free space (or fix the folder) and run the same command again`,
    );
  }
}
