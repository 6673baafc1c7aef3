/**
 * Checkpoints make long runs resumable in bounded memory. After each batch, its members'
 * packed float32 norms are appended to `<out>.checkpoint.bin` and synced, then one short line
 * (batch position, members, byte range) to `<out>.checkpoint`, a JSON Lines file whose first
 * line identifies the run. A batch counts as done once its line is complete, so a kill at any
 * moment loses at most the batch in flight: torn lines and bytes past the last complete line
 * are cut off on resume. Norms are read back one sequence at a time when the tables are
 * written. A run with a different model, tokenizer, token ids or options is refused rather
 * than mixed, and `<out>.lock` (run-lock.ts) keeps two processes from writing the same checkpoint.
 */
import { closeSync, constants, fdatasyncSync, ftruncateSync, lstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { UsageError, quote } from '../errors.js';
import { readBoundedLines } from '../io/bounded-lines.js';
import { CREATE_NEW, describeWriteFailure } from '../io/output-file.js';
import type { FileHandle } from 'node:fs/promises';
import { describeReadFailure, openRegularFile, openRegularFileSync } from '../io/read-regular-file.js';
import { parseJson } from '../io/json-text.js';

export const CHECKPOINT_FORMAT = 'resid-norms/checkpoint';
/** Bumped whenever what a line holds changes; older checkpoints are then refused, not misread. */
export const CHECKPOINT_VERSION = 4;

/** Longest line of the index read (a batch line names at most 4096 prompts: tens of kilobytes). */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** Everything that must match for finished batches to be reused. */
export type RunKey = Record<string, unknown>;

export interface FinishedBatch {
  position: number;
  /** Prompt-file indices of the batch's members, in row order. */
  indices: number[];
  /** Byte range of the members' packed norms in the .bin file, members in row order. */
  offset: number;
  bytes: number;
  /** CRC-32 of those bytes: a damaged or edited .bin (zero-filled by a crash, NaN written in) is told apart from a good one. */
  crc32: number;
}

export interface CheckpointFiles {
  index: string;
  norms: string;
  lock: string;
}

export function checkpointFiles(outPath: string): CheckpointFiles {
  return { index: `${outPath}.checkpoint`, norms: `${outPath}.checkpoint.bin`, lock: `${outPath}.lock` };
}

function describeDifference(saved: RunKey, current: RunKey): string {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])];
  const differing = keys.find((key) => JSON.stringify(saved[key]) !== JSON.stringify(current[key]));
  if (differing === undefined) return 'unknown difference';
  const show = (value: unknown) => {
    const text = JSON.stringify(value) ?? 'nothing';
    return text.length > 60 ? `${text.slice(0, 59)}…` : text; // the token hash is long and says nothing more
  };
  return `${differing} was ${show(saved[differing])}, now ${show(current[differing])}`;
}

export interface SavedCheckpoint {
  finished: FinishedBatch[];
  /** Bytes of the index up to the end of the last intact line; anything after it is a torn write. */
  intactBytes: number;
  /** End of the last finished batch's norms in the .bin file. */
  normBytes: number;
  /** A batch's norms no longer match their checksum (the .bin was damaged): it and all after it are redone. */
  damaged: boolean;
}

function isFinishedBatch(value: unknown, expectedOffset: number): value is FinishedBatch {
  const line = value as Partial<FinishedBatch> | null;
  return (
    typeof line === 'object' &&
    line !== null &&
    Number.isSafeInteger(line.position) &&
    Array.isArray(line.indices) &&
    line.indices.every((index) => Number.isSafeInteger(index) && index >= 0) &&
    line.offset === expectedOffset &&
    Number.isSafeInteger(line.bytes) &&
    line.bytes! > 0 &&
    Number.isSafeInteger(line.crc32)
  );
}

/**
 * Finished batches of an earlier run with the same key; undefined when there is no checkpoint.
 * Read line by line, so its size never matters.
 */
export async function readCheckpoint(files: CheckpointFiles, key: RunKey): Promise<SavedCheckpoint | undefined> {
  if (!present(files.index)) return undefined;
  let handle: FileHandle;
  let norms: FileHandle | undefined;
  try {
    handle = await openRegularFile(files.index, { noFollow: true }); // a FIFO would never end, a link would lead elsewhere
  } catch (error) {
    throw unusableCheckpoint(files.index, error);
  }
  try {
    norms = present(files.norms) ? await openRegularFile(files.norms, { noFollow: true }) : undefined;
  } catch (error) {
    await handle.close();
    throw unusableCheckpoint(files.norms, error);
  }
  const normsSize = norms === undefined ? 0 : (await norms.stat()).size;
  const piece = Buffer.alloc(1 << 20);
  /** Whether the batch's bytes in the .bin still have the checksum its line recorded. */
  const intact = async (batch: FinishedBatch): Promise<boolean> => {
    let crc = 0;
    for (let at = batch.offset; at < batch.offset + batch.bytes; ) {
      const { bytesRead } = await norms!.read(piece, 0, Math.min(piece.length, batch.offset + batch.bytes - at), at);
      if (bytesRead === 0) return false;
      crc = crc32(piece.subarray(0, bytesRead), crc);
      at += bytesRead;
    }
    return crc === batch.crc32;
  };
  let damaged = false;
  try {
    const finished: FinishedBatch[] = [];
    let consumed = 0;
    let intactBytes = 0;
    let normBytes = 0;
    let header = true;
    // The last line has no newline when a kill cut it short; an overlong one is not a line of ours.
    for await (const { text: line, bytes, complete: ended, overlong } of readBoundedLines(handle, MAX_LINE_BYTES)) {
      consumed += bytes;
      const complete = ended && !overlong;
      if (header) {
        let parsed: { format?: unknown; version?: unknown; key?: RunKey } = {};
        try {
          parsed = parseJson(line) as typeof parsed;
        } catch {
          // reported below
        }
        if (!complete || parsed.format !== CHECKPOINT_FORMAT || parsed.version !== CHECKPOINT_VERSION || typeof parsed.key !== 'object') {
          throw new UsageError(
            `${quote(files.index)} is not a checkpoint of this resid-norms version; rerun with --restart to discard it, or choose another --out`,
          );
        }
        if (JSON.stringify(parsed.key) !== JSON.stringify(key)) {
          throw new UsageError(
            `${quote(files.index)} belongs to a different run (${describeDifference(parsed.key, key)}); rerun with --restart to discard it, or choose another --out`,
          );
        }
        header = false;
        intactBytes = consumed;
        continue;
      }
      let entry: unknown;
      try {
        entry = complete ? parseJson(line) : undefined;
      } catch {
        entry = undefined;
      }
      if (!isFinishedBatch(entry, normBytes) || entry.offset + entry.bytes > normsSize) break; // a torn write: redone from here
      if (!(await intact(entry))) {
        damaged = true; // its norms were changed after it was written: redone from here, never read
        break;
      }
      finished.push(entry);
      normBytes = entry.offset + entry.bytes;
      intactBytes = consumed;
    }
    if (header) return undefined; // an empty file: nothing was ever finished
    return { finished, intactBytes, normBytes, damaged };
  } finally {
    await handle.close();
    await norms?.close();
  }
}

/** Whether anything (a file, a link, a FIFO…) is at `path`. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function unusableCheckpoint(path: string, error: unknown): UsageError {
  return new UsageError(`cannot use the checkpoint ${quote(path)}: ${describeReadFailure(error)}; rerun with --restart to discard it, or choose another --out`);
}

/**
 * A checkpoint file opened for writing without following a link: resumed in place when it is
 * there, else created exclusively (whatever was at its name, a stale file or a planted link,
 * is removed first, never written through).
 */
function openCheckpointFile(path: string, resume: boolean): number {
  if (resume && present(path)) {
    try {
      return openRegularFileSync(path, { noFollow: true, write: true });
    } catch (error) {
      throw unusableCheckpoint(path, error);
    }
  }
  rmSync(path, { force: true }); // a link is removed itself, not what it points to
  return openSync(path, CREATE_NEW | constants.O_RDWR, 0o644);
}

export class CheckpointWriter {
  /** Finished batches the files hold (resumed ones included), by plan position. */
  readonly batches = new Map<number, FinishedBatch>();
  private normBytes: number;

  private constructor(
    private readonly indexFd: number,
    private readonly normsFd: number,
    private indexBytes: number,
    saved: SavedCheckpoint | undefined,
  ) {
    this.normBytes = saved?.normBytes ?? 0;
    for (const batch of saved?.finished ?? []) this.batches.set(batch.position, batch);
  }

  /**
   * Open for appending. Resuming cuts torn writes first; otherwise both files start empty and
   * the index with the run's key line.
   */
  static open(files: CheckpointFiles, key: RunKey, saved: SavedCheckpoint | undefined): CheckpointWriter {
    const indexFd = openCheckpointFile(files.index, saved !== undefined);
    let normsFd: number;
    try {
      normsFd = openCheckpointFile(files.norms, saved !== undefined);
    } catch (error) {
      closeSync(indexFd);
      throw error;
    }
    if (saved) {
      ftruncateSync(indexFd, saved.intactBytes);
      ftruncateSync(normsFd, saved.normBytes);
    }
    const writer = new CheckpointWriter(indexFd, normsFd, saved?.intactBytes ?? 0, saved);
    if (!saved) writer.appendLine({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, key });
    return writer;
  }

  private appendLine(value: unknown): void {
    const bytes = Buffer.from(`${JSON.stringify(value)}\n`);
    writeAll(this.indexFd, bytes, this.indexBytes);
    this.indexBytes += bytes.length;
  }

  /**
   * Norms first, synced, then the line that says they are complete. The line needs no sync of
   * its own: a kill leaves it in the page cache, and after a power cut any line that survived
   * names norms that were synced before it was written (a lost line only redoes its batch).
   */
  append(position: number, indices: number[], norms: readonly Float32Array[]): void {
    const offset = this.normBytes;
    for (const values of norms) {
      writeAll(this.normsFd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.normBytes);
      this.normBytes += values.byteLength;
    }
    fdatasyncSync(this.normsFd);
    let crc = 0;
    for (const values of norms) crc = crc32(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), crc);
    const batch = { position, indices, offset, bytes: this.normBytes - offset, crc32: crc };
    this.appendLine(batch);
    this.batches.set(position, batch);
  }

  /** `count` float32 values starting `byteOffset` bytes into the norms file. */
  readNorms(byteOffset: number, count: number): Float32Array {
    const values = new Float32Array(count);
    const bytes = new Uint8Array(values.buffer);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(this.normsFd, bytes, read, bytes.length - read, byteOffset + read);
      if (n === 0) throw new Error(`checkpoint norms end at ${byteOffset + read} bytes; expected ${byteOffset + bytes.length}`);
      read += n;
    }
    return values;
  }

  close(): void {
    closeSync(this.indexFd);
    closeSync(this.normsFd);
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

/** Remove both checkpoint files (a link there is removed itself, never what it points to). */
export function removeCheckpoint(files: CheckpointFiles): void {
  for (const path of [files.index, files.norms]) {
    try {
      rmSync(path, { force: true });
    } catch (error) {
      throw new UsageError(
        `cannot remove the checkpoint ${quote(path)}: ${describeWriteFailure((error as NodeJS.ErrnoException).code ?? String(error))}; remove it yourself, or choose another --out`,
      );
    }
  }
}
