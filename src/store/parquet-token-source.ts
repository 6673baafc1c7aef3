/**
 * The token source of a version-2 results file: its Parquet tables, read through DuckDB
 * (src/duckdb/). DuckDB reads Parquet in C++, skips row groups by their statistics (one
 * prompt's rows) and hands results over in chunks of 2,048 rows, so a reader holds one chunk
 * at a time. Its own memory is capped (memory_limit) and it never writes.
 */
import { InputError, quote } from '../errors.js';
import type { DiagnosticColumn } from '../results/diagnostics.js';
import { columnOffsets } from './packed-layout.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { SequenceNorms } from './result-tables-writer.js';
import { EXCLUSION_CODE, EXCLUSION_REASONS, RUN_ID_KEY, normColumn, normColumns, promptSumColumn, type ResultTables } from './result-tables.js';
import {
  chunks,
  connect,
  ident,
  readInts,
  sqlString,
  widenForSideBySide,
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBListVector,
} from '../duckdb/connection.js';
import { LiteralFiles } from '../duckdb/literal-paths.js';
import { describeReadFailure } from '../io/read-regular-file.js';
import { checkBudget, checkNorm, decompressionProblem, MAX_PROMPT_TOKENS, readLists, RESULT_CHUNK_BYTES } from './table-reads.js';
import type { PromptSums, PromptTokens, TokenColumnChunk, TokenSource } from './token-source.js';

/** What one open scan holds besides its row groups (buffers, file cache; ~11 MB measured). */
const SCAN_OVERHEAD_BYTES = 16 * 1024 * 1024;

/**
 * Each token's exclusion code: from `excluded_as`, or for tables written before it existed
 * (which excluded position 0 only), position 0 when excluded.
 */
function exclusionSql(hasReasons: boolean): string {
  if (!hasReasons) return `(CASE WHEN NOT excluded THEN 0 ELSE ${EXCLUSION_CODE['position 0']} END)::INTEGER`;
  const cases = EXCLUSION_REASONS.map((reason) => `WHEN excluded_as = ${sqlString(reason)} THEN ${EXCLUSION_CODE[reason]}`).join(' ');
  return `(CASE WHEN NOT excluded THEN 0 ${cases} ELSE ${EXCLUSION_CODE['special token']} END)::INTEGER`;
}

export class ParquetTokenSource implements TokenSource {
  private constructor(
    private readonly connection: DuckDBConnection,
    /** The tables' paths (for messages; each read opens them, ./literal-paths.ts). */
    private readonly tables: ResultTables,
    readonly nLayers: number,
    readonly promptCount: number,
    /** SQL giving each token's exclusion code. */
    private readonly exclusion: string,
    /** Column names of the tokens table. */
    private readonly tokenColumns: readonly string[],
    /** Column names of the prompts table. */
    private readonly promptColumns: readonly string[],
  ) {}

  /**
   * Open a results file's tables, checking that they belong to it (the same run id as the
   * results file records, in their Parquet metadata) and hold what it says (row counts, and
   * every norm column of its hooks).
   */
  static async open(
    tables: ResultTables,
    expected: { nLayers: number; tokens: number; prompts: number; columns: string[]; label: string; runId?: string | undefined },
  ): Promise<ParquetTokenSource> {
    // Every reader sums the prompts at some point: a count whose sums could not be held is refused at once.
    checkBudget(expected.prompts * (8 * 3 * expected.nLayers + 12), `${expected.prompts} prompts of ${expected.nLayers} layers`, tables.prompts);
    let files: LiteralFiles;
    try {
      files = LiteralFiles.open([tables.tokens, tables.prompts]);
    } catch (error) {
      const path = (error as { path?: string }).path ?? tables.tokens;
      throw new InputError(`cannot read ${quote(path)}, a table of ${quote(expected.label)}: ${describeReadFailure(error)}; measure again or restore the file`);
    }
    const scans = { tokens: files.scanPaths[0]!, prompts: files.scanPaths[1]! };
    const connection = await connect();
    const fail = (message: string): never => {
      connection.closeSync();
      files.close();
      throw new InputError(message);
    };
    let tokenColumns: string[] = [];
    let promptColumns: string[] = [];
    for (const [path, scan, rows, columns] of [
      [tables.tokens, scans.tokens, expected.tokens, expected.columns],
      [tables.prompts, scans.prompts, expected.prompts, ['prompt', 'included']],
    ] as const) {
      let found = 0;
      let names: string[] = [];
      let runId: string | undefined;
      try {
        const bomb = await decompressionProblem(connection, scan, RESULT_CHUNK_BYTES);
        if (bomb !== undefined) fail(`${quote(path)}, a table of ${quote(expected.label)}, ${bomb}; the table is damaged: measure again`);
        const keyValues = await connection.runAndReadAll(`SELECT decode(key), decode(value) FROM parquet_kv_metadata(${sqlString(scan)})`);
        runId = keyValues.getRows().find((row) => row[0] === RUN_ID_KEY)?.[1] as string | undefined;
        const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(scan)})`);
        names = described.getRows().map((row) => String(row[0]));
        if (path === tables.tokens) tokenColumns = names;
        else promptColumns = names;
        const counted = await connection.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet(${sqlString(scan)})`);
        found = Number(counted.getRows()[0]![0]);
      } catch (error) {
        if (error instanceof InputError) throw error;
        fail(`cannot read ${quote(path)}, a table of ${quote(expected.label)}: ${(error as Error).message.split('\n')[0]!}; measure again or restore the file`);
      }
      if (runId !== expected.runId) {
        const described = (id: string | undefined) => (id === undefined ? 'none' : id);
        fail(
          `${quote(path)} is not a table of ${quote(expected.label)}: its run id is ${described(runId)}, the results file's ${described(expected.runId)} (the files are from different runs, e.g. one killed between writing its tables and its results file); measure again or restore the files`,
        );
      }
      if (found !== rows) fail(`${quote(path)} has ${found} rows but ${quote(expected.label)} says ${rows}; the files are from different runs: measure again`);
      const missing = columns.find((column) => !names.includes(column));
      if (missing !== undefined) fail(`${quote(path)} has no column ${quote(missing)} that ${quote(expected.label)} lists; measure again`);
    }
    files.close(); // each read opens the files again, for as long as it reads: a report of a thousand results files holds no thousand descriptors
    return new ParquetTokenSource(
      connection,
      tables,
      expected.nLayers,
      expected.prompts,
      exclusionSql(tokenColumns.includes('excluded_as')),
      tokenColumns,
      promptColumns,
    );
  }

  /** Both tables opened for one read: the names DuckDB reads them by (checked, taken literally), and what closes them. */
  private openScans(): { scans: ResultTables; close(): void } {
    let files: LiteralFiles;
    try {
      files = LiteralFiles.open([this.tables.tokens, this.tables.prompts]);
    } catch (error) {
      const path = (error as { path?: string }).path ?? this.tables.tokens;
      throw new InputError(`cannot read ${quote(path)}: ${describeReadFailure(error)}; measure again or restore the file`);
    }
    return { scans: { tokens: files.scanPaths[0]!, prompts: files.scanPaths[1]! }, close: () => files.close() };
  }

  async *columnChunks(hook: HookName, metric: NormMetric): AsyncIterable<TokenColumnChunk> {
    const { scans, close } = this.openScans();
    try {
      yield* this.columnChunksOf(scans, hook, metric);
    } finally {
      close();
    }
  }

  private async *columnChunksOf(scans: ResultTables, hook: HookName, metric: NormMetric): AsyncIterable<TokenColumnChunk> {
    const sql = `SELECT prompt, position, ${this.exclusion}, ${ident(normColumn(hook, metric))} FROM read_parquet(${sqlString(scans.tokens)})`;
    for await (const chunk of chunks(this.connection, sql)) {
      const rows = chunk.rowCount;
      const excludedVector = chunk.getColumnVector(2);
      yield {
        rows,
        prompt: readInts(chunk.getColumnVector(0), rows),
        position: readInts(chunk.getColumnVector(1), rows),
        excluded: Uint8Array.from({ length: rows }, (_, i) => excludedVector.getItem(i) as number),
        values: readLists(chunk.getColumnVector(3), rows, this.nLayers, new Float32Array(rows * this.nLayers), 0, this.tables.tokens),
      };
    }
  }

  async promptSums(hook: HookName, metric: NormMetric): Promise<PromptSums> {
    const { scans, close } = this.openScans();
    try {
      return await this.promptSumsOf(scans, hook, metric);
    } finally {
      close();
    }
  }

  private async promptSumsOf(scans: ResultTables, hook: HookName, metric: NormMetric): Promise<PromptSums> {
    const { nLayers, promptCount: n } = this;
    checkBudget(n * (8 * 3 * nLayers + 12), `${n} prompts of ${nLayers} layers`, this.tables.prompts);
    const sums: PromptSums = {
      prompts: new Int32Array(n),
      included: new Float64Array(n),
      sums: new Float64Array(n * nLayers),
      sumLogs: new Float64Array(n * nLayers),
      sumSquares: new Float64Array(n * nLayers),
    };
    const columns = (['sum', 'sum_log', 'sum_sq'] as const).map((sum) => ident(promptSumColumn(hook, metric, sum))).join(', ');
    let row = 0;
    for await (const chunk of chunks(this.connection, `SELECT prompt, included, ${columns} FROM read_parquet(${sqlString(scans.prompts)}) ORDER BY prompt`)) {
      const rows = chunk.rowCount;
      sums.prompts.set(readInts(chunk.getColumnVector(0), rows), row);
      sums.included.set(readInts(chunk.getColumnVector(1), rows), row);
      readLists(chunk.getColumnVector(2), rows, nLayers, sums.sums, row);
      readLists(chunk.getColumnVector(3), rows, nLayers, sums.sumLogs, row);
      readLists(chunk.getColumnVector(4), rows, nLayers, sums.sumSquares, row);
      row += rows;
    }
    return sums;
  }

  async promptTokens(prompt: number, hook: HookName, metric: NormMetric): Promise<PromptTokens | undefined> {
    const { scans, close } = this.openScans();
    try {
      return await this.promptTokensOf(scans, prompt, hook, metric);
    } finally {
      close();
    }
  }

  private async promptTokensOf(scans: ResultTables, prompt: number, hook: HookName, metric: NormMetric): Promise<PromptTokens | undefined> {
    const sql = `SELECT token_id, token, ${this.exclusion}, ${ident(normColumn(hook, metric))} FROM read_parquet(${sqlString(scans.tokens)}) WHERE prompt = ${Math.trunc(prompt)} ORDER BY position`;
    const found: PromptTokens = { ids: [], tokens: [], text: undefined, excluded: [], values: new Float32Array(0) };
    const parts: Float32Array[] = [];
    for await (const chunk of chunks(this.connection, sql)) {
      const rows = chunk.rowCount;
      if (found.ids.length + rows > MAX_PROMPT_TOKENS)
        throw new InputError(
          `${quote(this.tables.tokens)} holds more than ${MAX_PROMPT_TOKENS} tokens for prompt ${prompt + 1}, more than any model's context; the table is damaged: measure again`,
        );
      for (let i = 0; i < rows; i += 1) {
        found.ids.push(chunk.getColumnVector(0).getItem(i) as number);
        found.tokens.push(String(chunk.getColumnVector(1).getItem(i)));
        found.excluded.push(chunk.getColumnVector(2).getItem(i) as number);
      }
      parts.push(readLists(chunk.getColumnVector(3), rows, this.nLayers, new Float32Array(rows * this.nLayers), 0, this.tables.tokens));
    }
    if (found.ids.length === 0) return undefined;
    found.values = new Float32Array(found.ids.length * this.nLayers);
    let offset = 0;
    for (const part of parts) {
      found.values.set(part, offset);
      offset += part.length;
    }
    const text = await this.connection.runAndReadAll(`SELECT text FROM read_parquet(${sqlString(scans.prompts)}) WHERE prompt = ${Math.trunc(prompt)}`);
    const value = text.getRows()[0]?.[0];
    found.text = typeof value === 'string' ? value : undefined;
    return found;
  }

  async *sequences(
    hooks: readonly HookName[],
    metric?: NormMetric,
    diagnostics: readonly DiagnosticColumn[] = [],
    sequenceDiagnostics: readonly DiagnosticColumn[] = [],
  ): AsyncIterable<SequenceNorms> {
    const { nLayers } = this;
    const columns = normColumns(hooks, metric);
    const slots = Int32Array.from({ length: columns.length * nLayers }, (_, slot) => slot);
    const missing = diagnostics.find(({ name }) => !this.tokenColumns.includes(name));
    if (missing !== undefined)
      throw new InputError(`${quote(this.tables.tokens)} has no column ${quote(missing.name)} that its results file lists; measure again`);
    const missingPerSequence = sequenceDiagnostics.find(({ name }) => !this.promptColumns.includes(name));
    if (missingPerSequence !== undefined)
      throw new InputError(`${quote(this.tables.prompts)} has no column ${quote(missingPerSequence.name)} that its results file lists; measure again`);
    const sequenceWidth = columnOffsets(sequenceDiagnostics).width;
    const sequenceNames = sequenceDiagnostics.map(({ name }) => `, ${ident(name)}`).join('');
    // Where each diagnostic column starts in a sequence's values, per position: [column][position][list].
    const { starts, width } = columnOffsets(diagnostics);
    const names = [...columns, ...diagnostics].map(({ name }) => ident(name)).join(', ');
    // Two streams side by side, each in file (= prompt) order: prompts give each sequence's length.
    const { scans, close } = this.openScans();
    const promptConnection = await connect().catch((error: unknown) => {
      close();
      throw error;
    });
    try {
      const tokenChunks = chunks(this.connection, `SELECT token_id, token, ${this.exclusion}, ${names} FROM read_parquet(${sqlString(scans.tokens)})`)[
        Symbol.asyncIterator
      ]();
      let chunk: DuckDBDataChunk | undefined;
      let row = 0;
      const nextRow = async (): Promise<void> => {
        while (chunk === undefined || row >= chunk.rowCount) {
          const next = await tokenChunks.next();
          if (next.done) throw new InputError(`${quote(this.tables.tokens)} ends before its prompts table says; the files are from different runs`);
          chunk = next.value;
          row = 0;
        }
      };
      for await (const prompts of chunks(
        promptConnection,
        `SELECT prompt, tokens, truncated, text${sequenceNames} FROM read_parquet(${sqlString(scans.prompts)})`,
      )) {
        for (let p = 0; p < prompts.rowCount; p += 1) {
          const length = prompts.getColumnVector(1).getItem(p) as number;
          if (!(Number.isSafeInteger(length) && length >= 0 && length <= MAX_PROMPT_TOKENS)) {
            throw new InputError(
              `${quote(this.tables.prompts)} says a prompt has ${length} tokens; at most ${MAX_PROMPT_TOKENS} (the largest context) fit: the table is damaged, measure again`,
            );
          }
          checkBudget(4 * length * (columns.length * nLayers + width), `a prompt of ${length} tokens`, this.tables.prompts);
          const text = prompts.getColumnVector(3).getItem(p);
          const sequence: SequenceNorms = {
            prompt: prompts.getColumnVector(0).getItem(p) as number,
            ids: new Array<number>(length),
            tokens: new Array<string>(length),
            truncated: Boolean(prompts.getColumnVector(2).getItem(p)),
            ...(typeof text === 'string' ? { text } : {}),
            values: new Float32Array(columns.length * nLayers * length),
            slots,
            exclusions: new Uint8Array(length),
            ...(diagnostics.length > 0 ? { diagnostics: new Float32Array(width * length) } : {}),
            ...(sequenceWidth > 0 ? { sequenceDiagnostics: new Float32Array(sequenceWidth) } : {}),
          };
          let at = 0;
          sequenceDiagnostics.forEach((column, d) => {
            const list = prompts.getColumnVector(4 + d) as DuckDBListVector;
            if (list.getEntryLength(p) !== column.length)
              throw new InputError(
                `${quote(this.tables.prompts)}: ${column.name} of prompt ${sequence.prompt + 1} has ${list.getEntryLength(p)} values; expected ${column.length}`,
              );
            const from = list.getEntryOffset(p);
            for (let i = 0; i < column.length; i += 1) sequence.sequenceDiagnostics![at + i] = list.childVector.getItem(from + i) as number;
            at += column.length;
          });
          for (let position = 0; position < length; position += 1) {
            await nextRow();
            const current = chunk!;
            (sequence.ids as number[])[position] = current.getColumnVector(0).getItem(row) as number;
            (sequence.tokens as string[])[position] = String(current.getColumnVector(1).getItem(row));
            sequence.exclusions[position] = current.getColumnVector(2).getItem(row) as number;
            columns.forEach((_, c) => {
              const list = current.getColumnVector(3 + c) as DuckDBListVector;
              const start = list.getEntryOffset(row);
              for (let layer = 0; layer < nLayers; layer += 1)
                sequence.values[(c * nLayers + layer) * length + position] = checkNorm(list.childVector.getItem(start + layer) as number, this.tables.tokens);
            });
            diagnostics.forEach((column, d) => {
              const list = current.getColumnVector(3 + columns.length + d) as DuckDBListVector;
              if (list.getEntryLength(row) !== column.length) {
                throw new InputError(
                  `${quote(this.tables.tokens)}: ${column.name} of prompt ${sequence.prompt + 1}, position ${position} has ${list.getEntryLength(row)} values; expected ${column.length}`,
                );
              }
              const from = list.getEntryOffset(row);
              const to = starts[d]! * length + position * column.length;
              for (let i = 0; i < column.length; i += 1) sequence.diagnostics![to + i] = list.childVector.getItem(from + i) as number;
            });
            row += 1;
          }
          yield sequence;
        }
      }
    } finally {
      promptConnection.closeSync();
      close();
    }
  }

  close(): void {
    this.connection.closeSync();
  }

  /**
   * Prepare DuckDB for streaming these sources' sequences() side by side, as merge's k-way merge
   * does: each open scan holds the row group it reads, about twice its bytes per thread (a tokens
   * table's row groups hold up to 16 MB of values), so k scans need about k times that, which
   * the default cap (256 MB) does not hold beyond a few shards. Scans run on one thread each
   * (half the memory; the k scans are read in turn anyway) and the cap grows by what these
   * tables' largest row groups need. Returns the function that restores the defaults.
   */
  static async scanSideBySide(sources: readonly TokenSource[]): Promise<() => Promise<void>> {
    const connection = await connect();
    let need = 0;
    try {
      for (const source of sources) {
        if (!(source instanceof ParquetTokenSource)) continue;
        const { scans, close } = source.openScans();
        try {
          for (const path of [scans.tokens, scans.prompts]) {
            const sql = `SELECT coalesce(max(bytes), 0)::BIGINT FROM (SELECT sum(total_uncompressed_size) AS bytes FROM parquet_metadata(${sqlString(path)}) GROUP BY row_group_id)`;
            need += 2 * Number((await connection.runAndReadAll(sql)).getRows()[0]![0]) + SCAN_OVERHEAD_BYTES;
          }
        } finally {
          close();
        }
      }
    } finally {
      connection.closeSync();
    }
    return widenForSideBySide(need);
  }
}
