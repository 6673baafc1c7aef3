/**
 * What every read of a results table checks, so a damaged or tampered table is refused in one
 * line and never allocated, decoded or summed: its footer before any page is decoded, a claimed
 * size before it is allocated, and every norm as it is read (float32 as the graph gave it).
 */
import { InputError, quote } from '../errors.js';
import type { DuckDBConnection, DuckDBListVector, DuckDBVector } from '../duckdb/connection.js';
import { columnChunkSizes, MAX_DECOMPRESSION_RATIO } from '../duckdb/parquet-footer.js';
import { FLOAT32_MAX } from '../results/schema.js';

/** Bytes a reader allocates at once for one table's values (a prompt's norms, every prompt's sums): a tampered row count is refused, not allocated. */
export const READ_BUDGET_BYTES = 2 ** 31;
/** Most tokens one prompt can have (the largest context a model may declare). */
export const MAX_PROMPT_TOKENS = 16_777_216;

/**
 * Most bytes one column of one row group of a results table may decompress to. The writer's
 * row groups hold 16 MB of norms (stored uncompressed) and their strings (snappy, a few times
 * smaller than the text): a chunk past this, or past 64 MiB and 1000 times its stored size, is
 * not one of ours.
 */
export const RESULT_CHUNK_BYTES = 2 ** 30;

/** Why a Parquet file's footer promises more decompressed bytes than a reader should decode, or undefined. */
export async function decompressionProblem(connection: DuckDBConnection, scan: string, maxChunkBytes: number): Promise<string | undefined> {
  for (const { group, column, uncompressed: bytes, compressed: stored } of await columnChunkSizes(connection, scan)) {
    if (bytes > maxChunkBytes)
      return `row group ${group + 1} holds ${(bytes / 2 ** 20).toFixed(0)} MiB of ${quote(column)} once decompressed (at most ${maxChunkBytes / 2 ** 20} MiB)`;
    if (bytes > 64 * 2 ** 20 && bytes > MAX_DECOMPRESSION_RATIO * Math.max(1, stored)) {
      return `row group ${group + 1} stores ${stored} bytes of ${quote(column)} that decompress to ${(bytes / 2 ** 20).toFixed(0)} MiB (more than ${MAX_DECOMPRESSION_RATIO}×)`;
    }
  }
  return undefined;
}

/** Refuse an allocation a table's claims would need beyond the budget. */
export function checkBudget(bytes: number, what: string, path: string): void {
  if (!(bytes <= READ_BUDGET_BYTES))
    throw new InputError(
      `${quote(path)} claims ${what}, which would need ${(bytes / 2 ** 30).toFixed(1)} GiB at once (at most ${READ_BUDGET_BYTES / 2 ** 30} GiB is read at once); the file is damaged or not of this run: measure again`,
    );
}

/** A norm read back: float32 as the graph gave it, so finite, non-negative and at most FLOAT32_MAX. */
export function checkNorm(value: number, path: string): number {
  if (!(value >= 0 && value <= FLOAT32_MAX))
    throw new InputError(`${quote(path)} holds ${value} as a norm, which no forward pass gives; the table is damaged: measure again`);
  return value;
}

/** A list column of `length` numbers per row into [row × length]; with `path`, each value is checked as a norm. */
export function readLists<T extends Float32Array | Float64Array>(
  vector: DuckDBVector,
  rows: number,
  length: number,
  out: T,
  rowOffset = 0,
  normsOf?: string,
): T {
  const list = vector as DuckDBListVector;
  const child = list.childVector;
  for (let i = 0; i < rows; i += 1) {
    const start = list.getEntryOffset(i);
    if (list.getEntryLength(i) !== length)
      throw new InputError(`a list in the tables has ${list.getEntryLength(i)} values; expected ${length} (one per layer)`);
    const base = (rowOffset + i) * length;
    if (normsOf === undefined) for (let l = 0; l < length; l += 1) out[base + l] = child.getItem(start + l) as number;
    else for (let l = 0; l < length; l += 1) out[base + l] = checkNorm(child.getItem(start + l) as number, normsOf);
  }
  return out;
}
