/**
 * The one importer of @duckdb/node-api: one in-memory DuckDB per process, its memory cap and
 * threads, and the SQL helpers every query here uses (quoting, chunk-by-chunk reading). DuckDB
 * reads Parquet and CSV in C++ and hands results over in chunks of 2,048 rows, so a reader holds
 * one chunk at a time; it never writes. Results tables (src/store/parquet-token-source.ts) and
 * prompt tables (src/prompts-sources/prompt-tables.ts) are read through here.
 */
import { DuckDBInstance, type DuckDBConnection, type DuckDBDataChunk, type DuckDBVector } from '@duckdb/node-api';

export type { DuckDBConnection, DuckDBDataChunk, DuckDBListVector, DuckDBVector } from '@duckdb/node-api';

let shared: Promise<DuckDBInstance> | undefined;

/** DuckDB's memory cap and threads, unless scans run side by side (widenForSideBySide). */
const MEMORY_LIMIT_MB = 256;
const THREADS = 2;

/** A connection to the process's DuckDB, created on first use. */
export async function connect(): Promise<DuckDBConnection> {
  // No file cache: the files are read as /proc/self/fd/<n> (./literal-paths.ts), names a later scan may reuse for another file.
  shared ??= DuckDBInstance.create(':memory:', {
    memory_limit: `${MEMORY_LIMIT_MB}MB`,
    threads: String(THREADS),
    enable_external_access: 'true',
    enable_external_file_cache: 'false',
  });
  return (await shared).connect();
}

/**
 * Scans side by side (merge's k-way merge of shards) each hold their row group: one thread each
 * (half the memory; the scans are read in turn anyway) and the cap raised by `bytes`. Returns the
 * function that restores the defaults.
 */
export async function widenForSideBySide(bytes: number): Promise<() => Promise<void>> {
  const connection = await connect();
  try {
    await connection.run(`SET threads = 1`);
    await connection.run(`SET memory_limit = '${MEMORY_LIMIT_MB + Math.ceil(bytes / 2 ** 20)}MB'`);
  } finally {
    connection.closeSync();
  }
  return async () => {
    const restoring = await connect();
    try {
      await restoring.run(`SET threads = ${THREADS}`);
      await restoring.run(`SET memory_limit = '${MEMORY_LIMIT_MB}MB'`);
    } finally {
      restoring.closeSync();
    }
  };
}

/** A string literal of SQL. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier (a column name). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Rows of a query, chunk by chunk. */
export async function* chunks(connection: DuckDBConnection, sql: string): AsyncIterable<DuckDBDataChunk> {
  const result = await connection.stream(sql);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) return;
    yield chunk;
  }
}

/** An INTEGER column of a chunk. */
export function readInts(vector: DuckDBVector, rows: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i += 1) out[i] = vector.getItem(i) as number;
  return out;
}
