/**
 * What a Parquet file's footer says its row groups decompress to, read before DuckDB decodes a
 * page: the readers of results tables and of prompt tables refuse a file that would decode past
 * their bounds, or a decompression bomb (a few kilobytes that decompress to gigabytes).
 */
import type { DuckDBConnection } from './connection.js';
import { sqlString } from './connection.js';

/** Past a floor (each reader's), a column chunk may decompress to at most this many times its stored size. */
export const MAX_DECOMPRESSION_RATIO = 1000;

export interface ColumnChunkSize {
  /** 0-based row group. */
  group: number;
  column: string;
  uncompressed: number;
  compressed: number;
}

/** Every column chunk's sizes (only `column`'s when given), from the footer of `scan`. */
export async function columnChunkSizes(connection: DuckDBConnection, scan: string, column?: string): Promise<ColumnChunkSize[]> {
  const where = column === undefined ? '' : ` WHERE path_in_schema = ${sqlString(column)}`;
  const sql = `SELECT row_group_id, path_in_schema, total_uncompressed_size::BIGINT, total_compressed_size::BIGINT FROM parquet_metadata(${sqlString(scan)})${where}`;
  return (await connection.runAndReadAll(sql)).getRows().map(([group, name, uncompressed, compressed]) => ({
    group: Number(group),
    column: String(name),
    uncompressed: Number(uncompressed),
    compressed: Number(compressed),
  }));
}
