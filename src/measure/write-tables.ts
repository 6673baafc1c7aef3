/**
 * The last phase of `measure` before the results file: the two tables written from the
 * checkpoint, this run's sequences in prompt-file order, each read back on its own, so memory
 * holds one sequence and one row group whatever the number of tokens; summaries stream as rows go.
 */
import type { Reporter } from '../messages/reporter.js';
import { InterruptedError, NumericalError, quote } from '../errors.js';
import { stopReason } from '../io/interrupt.js';
import { ResultTablesWriter, type TablesOutcome } from '../store/result-tables-writer.js';
import { tablePaths } from '../store/result-tables.js';
import { packedLength, unpackSequence, type PackedLayout } from '../store/packed-layout.js';
import { checkpointFiles, type CheckpointWriter } from './checkpoint.js';
import { exclusionCodes, type ExclusionRule } from './exclusions.js';
import type { Sequence } from './sequences.js';

/** A stop before the results file is written: the checkpoint keeps every batch for the next run. */
export function stoppedBeforeResults(signal: AbortSignal, outPath: string, when: string): InterruptedError {
  return new InterruptedError(
    `${stopReason(signal)} ${when}; every batch is kept in ${quote(checkpointFiles(outPath).index)}: run the same command again to write the results from it`,
  );
}

/** Longest stretch of table writing between two turns of the event loop (where signals are handled). */
const YIELD_MS = 50;
const YIELD_PROMPTS = 256;

/** The tables and their summaries, from the checkpoint's norms of every batch in `planned`. */
export async function writeTables(
  outPath: string,
  planned: ReadonlyArray<{ position: number; batch: { members: Sequence[] } }>,
  checkpoint: CheckpointWriter,
  layout: PackedLayout,
  exclusion: ExclusionRule,
  reporter: Reporter,
  signal: AbortSignal | undefined,
): Promise<TablesOutcome> {
  const outputs = layout.outputNames.length;
  const located: Array<{ sequence: Sequence; offset: number }> = [];
  for (const { position, batch } of planned) {
    let offset = checkpoint.batches.get(position)!.offset;
    for (const sequence of batch.members) {
      located.push({ sequence, offset });
      offset += 4 * packedLength(layout, sequence.ids.length);
    }
  }
  located.sort((a, b) => a.sequence.index - b.sequence.index);
  const writer = ResultTablesWriter.create(tablePaths(outPath), layout.hooks, layout.nLayers, layout.tokenColumns.columns, layout.sequenceColumns.columns);
  const checkpointFile = checkpointFiles(outPath).norms;
  const progress = reporter.progress('writing tables (prompts)', located.length, 'items');
  try {
    let yielded = performance.now();
    let written = 0;
    for (const { sequence, offset } of located) {
      // Let signals in every YIELD_MS (or YIELD_PROMPTS): a second SIGINT/SIGTERM exits at once, a first one stops here.
      written += 1;
      if (written % YIELD_PROMPTS === 0 || performance.now() - yielded > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
        if (signal?.aborted) throw stoppedBeforeResults(signal, outPath, 'while writing the tables');
      }
      const values = checkpoint.readNorms(offset, packedLength(layout, sequence.ids.length));
      refuseBadNorms(values.subarray(0, outputs * sequence.ids.length), sequence, checkpointFile);
      writer.add({
        prompt: sequence.index,
        ids: sequence.ids,
        tokens: sequence.tokens,
        ...(sequence.text !== undefined ? { text: sequence.text } : {}),
        truncated: sequence.truncated,
        exclusions: exclusionCodes(sequence.ids, sequence.appended, exclusion),
        ...unpackSequence(layout, values, sequence.ids.length),
      });
      progress.tick(1);
    }
    return writer.finish();
  } catch (error) {
    writer.abort();
    throw error;
  } finally {
    progress.done();
  }
}

/**
 * Norms read back from the checkpoint must be what the graph gave: finite and non-negative (the
 * graph's are checked as they come; the checksums catch a damaged file). Anything else is
 * refused here, before it reaches the tables or a summary.
 */
function refuseBadNorms(norms: Float32Array, sequence: Sequence, checkpointFile: string): void {
  for (let i = 0; i < norms.length; i += 1) {
    const value = norms[i]!;
    if (!(value >= 0 && value < Infinity)) {
      throw new NumericalError(
        `${quote(checkpointFile)} holds ${value} as a norm of prompt ${sequence.index + 1}, which no forward pass gives; rerun with --restart to measure again`,
      );
    }
  }
}
