/**
 * Prompt tables (.parquet, .csv) read through DuckDB (src/duckdb/): their columns and rows, and
 * one text column streamed in file and row order, each cell cut to a bound. A Parquet table
 * whose footer promises more text than a row group may decode, or a decompression bomb, is
 * refused before any page is read. The readers of the prompt sources (read-prompt-source.ts)
 * load this module only for a table, so a text file never loads DuckDB.
 */
import { InputError, quote } from '../errors.js';
import { chunks, connect, ident, sqlString, type DuckDBConnection, type DuckDBDataChunk } from '../duckdb/connection.js';
import { LiteralFiles } from '../duckdb/literal-paths.js';
import { columnChunkSizes, MAX_DECOMPRESSION_RATIO } from '../duckdb/parquet-footer.js';
import { describeReadFailure } from '../io/read-regular-file.js';

/** Formats of prompt tables. */
export type TextTableFormat = 'parquet' | 'csv';

function tableScan(files: readonly string[], format: TextTableFormat): string {
  const list = `[${files.map(sqlString).join(', ')}]`;
  // CSV: a header row, every column read as text (no type guessing turns a column of numbers into integers).
  return format === 'parquet' ? `read_parquet(${list})` : `read_csv(${list}, header = true, all_varchar = true)`;
}

function tableError(files: readonly string[], error: unknown, opened?: LiteralFiles): InputError {
  let reason = (error as Error).message.split('\n')[0]!;
  // DuckDB names the files as it read them (/proc/self/fd/12): longest first, so fd 1 does not match fd 12.
  const scans = (opened?.scanPaths ?? []).map((scan, index) => ({ scan, file: files[index]! })).sort((a, b) => b.scan.length - a.scan.length);
  for (const { scan, file } of scans) reason = reason.replaceAll(scan, file);
  return new InputError(
    `cannot read the prompt table ${quote(files.length === 1 ? files[0]! : `${files[0]} (and ${files.length - 1} more)`)}: ${quote(reason, 160)}`,
  );
}

/** The prompt tables opened for DuckDB (regular files only, names taken literally), or an InputError naming the one that cannot be. */
function openTextTables(files: readonly string[]): LiteralFiles {
  try {
    return LiteralFiles.open(files);
  } catch (error) {
    const path = (error as { path?: string }).path ?? files[0]!;
    throw new InputError(`cannot read the prompt table ${quote(path)}: ${describeReadFailure(error)}; give a .parquet or .csv file`);
  }
}

/** Columns (name, DuckDB type) and rows of prompt tables, all files together. */
export async function describeTextTable(
  files: readonly string[],
  format: TextTableFormat,
): Promise<{ columns: Array<{ name: string; type: string }>; rows: number }> {
  const opened = openTextTables(files);
  const connection = await connect();
  try {
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${tableScan(opened.scanPaths, format)}`);
    const columns = described.getRows().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
    const counted = await connection.runAndReadAll(`SELECT count(*)::BIGINT FROM ${tableScan(opened.scanPaths, format)}`);
    return { columns, rows: Number(counted.getRows()[0]![0]) };
  } catch (error) {
    throw tableError(files, error, opened);
  } finally {
    connection.closeSync();
    opened.close();
  }
}

/**
 * Longest prompt text kept from a table cell, in characters: a prompt is cut to about 16
 * characters per token before it is tokenized anyway, so this holds 65,536 tokens' worth.
 */
export const MAX_CELL_CHARS = 1 << 20;
/** Most bytes of text one row group of a Parquet prompt table may hold once decompressed: DuckDB decodes a row group's pages whole. */
export const MAX_ROW_GROUP_TEXT_BYTES = 256 * 1024 * 1024;
/** Past this many bytes, a text column may decompress to at most MAX_DECOMPRESSION_RATIO times its stored size (a 2 kB file of megabytes per cell is a decompression bomb). */
const RATIO_FLOOR_BYTES = 16 * 1024 * 1024;

/**
 * Refuse, from the Parquet footers alone and before any page is decoded, a text column whose
 * row groups decompress to more than MAX_ROW_GROUP_TEXT_BYTES, or to more than MAX_DECOMPRESSION_RATIO
 * times their stored size past RATIO_FLOOR_BYTES.
 */
async function checkTextColumnSize(connection: DuckDBConnection, files: readonly string[], opened: LiteralFiles, column: string): Promise<void> {
  for (const [index, scan] of opened.scanPaths.entries()) {
    for (const { group, uncompressed, compressed } of await columnChunkSizes(connection, scan, column)) {
      const where = `row group ${group + 1} of ${quote(files[index]!)}`;
      if (uncompressed > MAX_ROW_GROUP_TEXT_BYTES)
        throw new InputError(
          `${where} holds ${(uncompressed / 2 ** 20).toFixed(0)} MiB of ${quote(column)} once decompressed, more than the ${MAX_ROW_GROUP_TEXT_BYTES / 2 ** 20} MiB read at once; write the table with smaller row groups`,
        );
      if (uncompressed > RATIO_FLOOR_BYTES && uncompressed > MAX_DECOMPRESSION_RATIO * Math.max(1, compressed)) {
        throw new InputError(
          `${where} stores ${compressed} bytes of ${quote(column)} that decompress to ${(uncompressed / 2 ** 20).toFixed(0)} MiB (more than ${MAX_DECOMPRESSION_RATIO}×): refused as a decompression bomb`,
        );
      }
    }
  }
}

/**
 * One text column of prompt tables, in file order then row order, chunk by chunk: each row's
 * 0-based number, its text (null for SQL NULL) cut to MAX_CELL_CHARS characters, and whether it
 * was cut. `limit` reads only the first rows.
 */
export async function* readTextColumn(
  files: readonly string[],
  format: TextTableFormat,
  column: string,
  limit?: number,
): AsyncIterable<{ row: number; text: string | null; cut: boolean }> {
  const opened = openTextTables(files);
  const connection = await connect();
  try {
    if (format === 'parquet') {
      try {
        await checkTextColumnSize(connection, files, opened, column);
      } catch (error) {
        throw error instanceof InputError ? error : tableError(files, error, opened);
      }
    }
    const text = `${ident(column)}::VARCHAR`;
    const sql = `SELECT left(${text}, ${MAX_CELL_CHARS}), length(${text}) > ${MAX_CELL_CHARS} FROM ${tableScan(opened.scanPaths, format)}${limit === undefined ? '' : ` LIMIT ${Math.trunc(limit)}`}`;
    let row = 0;
    let stream: AsyncIterable<DuckDBDataChunk>;
    try {
      stream = chunks(connection, sql);
    } catch (error) {
      throw tableError(files, error, opened);
    }
    const iterator = stream[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<DuckDBDataChunk>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw tableError(files, error, opened);
      }
      if (next.done) return;
      const vector = next.value.getColumnVector(0);
      const cuts = next.value.getColumnVector(1);
      for (let i = 0; i < next.value.rowCount; i += 1) {
        const value = vector.getItem(i);
        yield { row, text: typeof value === 'string' ? value : null, cut: cuts.getItem(i) === true };
        row += 1;
      }
    }
  } finally {
    connection.closeSync();
    opened.close();
  }
}
