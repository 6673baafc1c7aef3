/**
 * Checkpoints make long runs resumable: after each batch, its sequences' norms are appended
 * (and synced) to `<out>.checkpoint`, a JSON Lines file whose first line identifies the run.
 * Rerunning the same command skips finished batches; a run with a different model revision,
 * prompt set or options is refused rather than mixed. A line cut short by a kill is ignored.
 */
import { open, readFile, rm, truncate, type FileHandle } from 'node:fs/promises';
import { UsageError, quote } from '../errors.js';

export const CHECKPOINT_FORMAT = 'resid-norms/checkpoint';
/** Bumped whenever what a line holds changes; older checkpoints are then refused, not misread. */
export const CHECKPOINT_VERSION = 2;

/** Everything that must match for finished batches to be reused. */
export type RunKey = Record<string, unknown>;

export interface FinishedBatch {
  position: number;
  /** Prompt-file indices of the batch's members, in row order. */
  indices: number[];
  /** Each member's packed float32 norms (see PackedNorms), base64: exact and compact. */
  norms: string[];
}

export function encodeNorms(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

export function decodeNorms(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function checkpointPath(outPath: string): string {
  return `${outPath}.checkpoint`;
}

function describeDifference(saved: RunKey, current: RunKey): string {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])];
  const differing = keys.find((key) => JSON.stringify(saved[key]) !== JSON.stringify(current[key]));
  if (differing === undefined) return 'unknown difference';
  return `${differing} was ${JSON.stringify(saved[differing])}, now ${JSON.stringify(current[differing])}`;
}

export interface SavedCheckpoint {
  finished: FinishedBatch[];
  /** Bytes up to the end of the last intact line; anything after it is a torn write. */
  intactBytes: number;
}

/** Finished batches of an earlier run with the same key; undefined when there is no checkpoint. */
export async function readCheckpoint(path: string, key: RunKey): Promise<SavedCheckpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  // Split keeps a last piece that is '' (file ends with a newline) or a line cut short by a kill.
  const complete = text.split('\n').slice(0, -1);
  let header: { format?: unknown; version?: unknown; key?: RunKey };
  try {
    header = JSON.parse(complete[0] ?? '') as typeof header;
  } catch {
    header = {};
  }
  if (header.format !== CHECKPOINT_FORMAT || header.version !== CHECKPOINT_VERSION || typeof header.key !== 'object') {
    throw new UsageError(`${quote(path)} is not a resid-norms checkpoint; remove it or choose another --out`);
  }
  if (JSON.stringify(header.key) !== JSON.stringify(key)) {
    throw new UsageError(
      `${quote(path)} belongs to a different run (${describeDifference(header.key, key)}); rerun with --restart to discard it, or choose another --out`,
    );
  }
  const finished: FinishedBatch[] = [];
  let intactBytes = Buffer.byteLength(complete[0]!) + 1;
  for (const line of complete.slice(1)) {
    try {
      finished.push(JSON.parse(line) as FinishedBatch);
    } catch {
      break; // a torn write: everything from here on is redone
    }
    intactBytes += Buffer.byteLength(line) + 1;
  }
  return { finished, intactBytes };
}

export class CheckpointWriter {
  /** Finished batches the file holds (resumed ones included). */
  batches: number;

  private constructor(
    private readonly handle: FileHandle,
    resumed: number,
  ) {
    this.batches = resumed;
  }

  /**
   * Open for appending. Resuming cuts any torn last line first; otherwise a new file starts
   * with the run's key line.
   */
  static async open(path: string, key: RunKey, saved: SavedCheckpoint | undefined): Promise<CheckpointWriter> {
    if (saved) await truncate(path, saved.intactBytes);
    const writer = new CheckpointWriter(await open(path, saved ? 'a' : 'w'), saved?.finished.length ?? 0);
    if (!saved) await writer.appendLine({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, key });
    return writer;
  }

  private async appendLine(value: unknown): Promise<void> {
    await this.handle.write(`${JSON.stringify(value)}\n`);
    await this.handle.datasync();
  }

  async append(batch: FinishedBatch): Promise<void> {
    await this.appendLine(batch);
    this.batches += 1;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
}
