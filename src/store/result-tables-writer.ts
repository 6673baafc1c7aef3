/**
 * Writes a run's tables from its sequences, one at a time, in bounded memory: token rows and
 * prompt rows are buffered up to a row group and flushed; per-layer summaries of every hook and
 * metric are streamed alongside (excluded tokens are written, flagged, and left out of sums and
 * summaries). `measure`, `merge` and the reader of version-1 files all write through here, so
 * the three agree on every column.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { StreamingSummary } from '../analysis/streaming-summary.js';
import type { DiagnosticColumn } from '../results/diagnostics.js';
import type { DiagnosticSummaries } from '../results/diagnostics-info.js';
import { DiagnosticSummaryBuilder } from './diagnostic-summaries.js';
import { columnOffsets } from './packed-layout.js';
import type { LayerSummary } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import { ParquetFileWriter, type ColumnValues } from './parquet-writer.js';
import {
  EXCLUSION_CODE,
  EXCLUSION_REASONS,
  PROMPT_SUMS,
  RUN_ID_KEY,
  exclusionReason,
  normColumns,
  promptSumColumn,
  promptTableColumns,
  tokenTableColumns,
  type ExclusionReason,
  type ResultTables,
} from './result-tables.js';

/** One measured sequence, its norms as the graph gave them. */
export interface SequenceNorms {
  /** Index of the prompt in the prompt file. */
  prompt: number;
  ids: readonly number[];
  /** Decoded tokens, one per id ('' each when the model has no tokenizer). */
  tokens: readonly string[];
  text?: string;
  truncated: boolean;
  /** [slot][position] */
  values: Float32Array;
  /** Slot of (norm column c, layer l) at c × nLayers + l; columns in `normColumns` order. */
  slots: Int32Array;
  /** Exclusion code per position (EXCLUSION_CODE; 0: kept). */
  exclusions: Uint8Array;
  /** Diagnostic values (measure --diagnostics), [column][position][list], columns in the writer's order. */
  diagnostics?: Float32Array;
  /** Per-sequence diagnostic values (massive-sequence), [column][list], columns in the writer's order. */
  sequenceDiagnostics?: Float32Array;
}

export type Summaries = Record<NormMetric, Partial<Record<HookName, LayerSummary[]>>>;

export interface TablesOutcome {
  summaries: Summaries;
  /** Rows of the tokens table, and those of them left out of summaries (all, then by reason). */
  tokens: number;
  excluded: number;
  excludedBy: Record<ExclusionReason, number>;
  prompts: number;
  /** Sizes of the files written and their run id, as the results file records them. */
  files: { tokens: TableFileInfo; prompts: TableFileInfo; runId: string };
  /** Summaries of the diagnostic columns (measure --diagnostics), when there are any. */
  diagnostics?: DiagnosticSummaries;
}

export interface TableFileInfo {
  name: string;
  rows: number;
}

/** Row groups hold about this many bytes of norms (fewer rows for deep models). */
const ROW_GROUP_BYTES = 16 * 1024 * 1024;

function rowsPerGroup(valuesPerRow: number, bytesPerValue: number): number {
  return Math.min(1 << 20, Math.max(1024, Math.floor(ROW_GROUP_BYTES / (valuesPerRow * bytesPerValue))));
}

/**
 * Buffers start this many rows long and double up to a row group: a full row group's buffers
 * (32 MiB and more) allocated up front cost a small run more than its measurement.
 */
const FIRST_BUFFER_ROWS = 256;

type RowArray = Int32Array | Uint8Array | Float32Array | Float64Array;

const NO_VALUES = new Float32Array(0);

/** `array` with room for `rows` rows of `width` values, its contents kept. */
function withRows<T extends RowArray>(array: T, rows: number, width = 1): T {
  if (array.length >= rows * width) return array;
  const grown = new (array.constructor as new (length: number) => T)(rows * width);
  grown.set(array);
  return grown;
}

/** The next buffer size in rows: twice the current one, at most a row group. */
function nextRows(allocated: number, capacity: number): number {
  return Math.min(capacity, Math.max(FIRST_BUFFER_ROWS, allocated * 2));
}

export class ResultTablesWriter {
  private readonly columns: ReturnType<typeof normColumns>;
  private readonly tokenRows: TokenRowBuffer;
  private readonly promptRows: PromptRowBuffer;
  private readonly summaries: StreamingSummary[]; // [column × nLayers + layer]
  private readonly excludedBy = new Float64Array(EXCLUSION_REASONS.length + 1); // by code
  private readonly diagnosticSummaries?: DiagnosticSummaryBuilder;

  private constructor(
    private readonly paths: ResultTables,
    hooks: readonly HookName[],
    private readonly nLayers: number,
    diagnostics: readonly DiagnosticColumn[],
    sequenceDiagnostics: readonly DiagnosticColumn[],
  ) {
    this.columns = normColumns(hooks);
    this.summaries = Array.from({ length: this.columns.length * nLayers }, () => new StreamingSummary());
    const tokens = ParquetFileWriter.create(paths.tokens, tokenTableColumns(hooks, nLayers, diagnostics));
    let prompts: ParquetFileWriter;
    try {
      prompts = ParquetFileWriter.create(paths.prompts, promptTableColumns(hooks, nLayers, sequenceDiagnostics));
    } catch (error) {
      tokens.abort();
      throw error;
    }
    this.tokenRows = new TokenRowBuffer(
      tokens,
      this.columns.map((c) => c.name),
      nLayers,
      diagnostics,
    );
    if (diagnostics.length > 0 || sequenceDiagnostics.length > 0)
      this.diagnosticSummaries = new DiagnosticSummaryBuilder(
        diagnostics,
        this.columns.map((c) => c.name),
        nLayers,
        sequenceDiagnostics,
      );
    this.promptRows = new PromptRowBuffer(prompts, this.columns, nLayers, sequenceDiagnostics);
  }

  static create(
    paths: ResultTables,
    hooks: readonly HookName[],
    nLayers: number,
    diagnostics: readonly DiagnosticColumn[] = [],
    sequenceDiagnostics: readonly DiagnosticColumn[] = [],
  ): ResultTablesWriter {
    return new ResultTablesWriter(paths, hooks, nLayers, diagnostics, sequenceDiagnostics);
  }

  add(sequence: SequenceNorms): void {
    const { nLayers } = this;
    const length = sequence.ids.length;
    const prompt = this.promptRows.begin(sequence);
    for (let position = 0; position < length; position += 1) {
      const code = sequence.exclusions[position]!;
      const excluded = code !== 0;
      const row = this.tokenRows.begin(sequence, position, code);
      this.excludedBy[code]! += 1;
      if (!excluded) prompt.included += 1;
      for (let c = 0; c < this.columns.length; c += 1) {
        const target = this.tokenRows.lists[c]!;
        for (let layer = 0; layer < nLayers; layer += 1) {
          const value = sequence.values[sequence.slots[c * nLayers + layer]! * length + position]!;
          target[row * nLayers + layer] = value;
          if (excluded) continue;
          this.summaries[c * nLayers + layer]!.add(value);
          const cell = c * nLayers + layer;
          prompt.sums[cell]! += value;
          prompt.sumLogs[cell]! += Math.log(value);
          prompt.sumSquares[cell]! += value * value;
        }
      }
      this.tokenRows.addDiagnostics(sequence, position, row);
      if (this.diagnosticSummaries) {
        const norm = (c: number, layer: number) => sequence.values[sequence.slots[c * nLayers + layer]! * length + position]!;
        this.diagnosticSummaries.add(sequence.diagnostics ?? NO_VALUES, length, position, excluded, norm);
      }
      this.tokenRows.end();
    }
    if (this.promptRows.sequenceWidth > 0) {
      const values = sequence.sequenceDiagnostics;
      if (values === undefined || values.length !== this.promptRows.sequenceWidth)
        throw new Error(`prompt ${sequence.prompt + 1} has no per-sequence diagnostic values`);
      this.promptRows.addSequenceDiagnostics(values);
      this.diagnosticSummaries!.addSequence(values);
    }
    this.promptRows.end();
  }

  /** Flush, write both footers and move both tables into place; returns what the results file records. */
  finish(): TablesOutcome {
    this.tokenRows.flush();
    this.promptRows.flush();
    const tokens = this.tokenRows.writer.rowCount;
    const prompts = this.promptRows.writer.rowCount;
    // The run id is the hash of both tables' contents: the same tables (a resumed run, the merge of
    // a sharded one) get the same id and stay byte-identical; any other run's tables get another.
    const runId = createHash('sha256').update(this.tokenRows.writer.contentHash()).update(this.promptRows.writer.contentHash()).digest('hex').slice(0, 32);
    this.tokenRows.writer.finish([{ key: RUN_ID_KEY, value: runId }]);
    this.promptRows.writer.finish([{ key: RUN_ID_KEY, value: runId }]);
    const summaries: Summaries = { centered: {}, raw: {} };
    this.columns.forEach(({ hook, metric }, c) => {
      summaries[metric][hook] = Array.from({ length: this.nLayers }, (_, layer) => this.summaries[c * this.nLayers + layer]!.summarize(layer));
    });
    return {
      summaries,
      tokens,
      excluded: this.excludedBy.reduce((sum, count, code) => (code === 0 ? sum : sum + count), 0),
      excludedBy: Object.fromEntries(EXCLUSION_REASONS.map((reason) => [reason, this.excludedBy[EXCLUSION_CODE[reason]]!])) as Record<ExclusionReason, number>,
      prompts,
      files: { tokens: { name: basename(this.paths.tokens), rows: tokens }, prompts: { name: basename(this.paths.prompts), rows: prompts }, runId },
      ...(this.diagnosticSummaries ? { diagnostics: this.diagnosticSummaries.finish() } : {}),
    };
  }

  /** Delete the partial tables (after an error or an interruption). */
  abort(): void {
    this.tokenRows.writer.abort();
    this.promptRows.writer.abort();
  }
}

/** Token rows of the row group being filled. */
class TokenRowBuffer {
  readonly capacity: number;
  /** Rows the arrays below have room for (grown up to `capacity` as rows come). */
  private allocated = 0;
  lists: Float32Array[];
  private prompt = new Int32Array(0);
  private position = new Int32Array(0);
  private tokenId = new Int32Array(0);
  private excluded = new Uint8Array(0);
  private token: string[] = [];
  private excludedAs: Array<string | null> = [];
  private rows = 0;
  /** Per diagnostic column: [row × length], and where the column starts in a sequence's values (per position). */
  private diagnosticLists: Array<Float32Array | Int32Array>;
  private readonly diagnosticStarts: readonly number[];

  constructor(
    readonly writer: ParquetFileWriter,
    private readonly names: readonly string[],
    private readonly nLayers: number,
    private readonly diagnostics: readonly DiagnosticColumn[],
  ) {
    const offsets = columnOffsets(diagnostics);
    this.capacity = rowsPerGroup(names.length * nLayers + offsets.width, 4);
    this.diagnosticLists = diagnostics.map(({ kind }) => (kind === 'int32-list' ? new Int32Array(0) : new Float32Array(0)));
    this.diagnosticStarts = offsets.starts;
    this.lists = names.map(() => new Float32Array(0));
  }

  private grow(): void {
    const rows = nextRows(this.allocated, this.capacity);
    this.prompt = withRows(this.prompt, rows);
    this.position = withRows(this.position, rows);
    this.tokenId = withRows(this.tokenId, rows);
    this.excluded = withRows(this.excluded, rows);
    this.lists = this.lists.map((list) => withRows(list, rows, this.nLayers));
    this.diagnosticLists = this.diagnosticLists.map((list, c) => withRows(list, rows, this.diagnostics[c]!.length));
    this.allocated = rows;
  }

  /** The row index to fill for this token. */
  begin(sequence: SequenceNorms, position: number, exclusion: number): number {
    const row = this.rows;
    if (row === this.allocated) this.grow();
    this.prompt[row] = sequence.prompt;
    this.position[row] = position;
    this.tokenId[row] = sequence.ids[position]!;
    this.token.push(sequence.tokens[position] ?? '');
    this.excluded[row] = exclusion === 0 ? 0 : 1;
    this.excludedAs.push(exclusionReason(exclusion));
    return row;
  }

  /** Copy this position's diagnostic lists into `row` (values: [column][position][list]). */
  addDiagnostics(sequence: SequenceNorms, position: number, row: number): void {
    if (this.diagnostics.length === 0) return;
    const values = sequence.diagnostics;
    if (values === undefined) throw new Error(`prompt ${sequence.prompt + 1} has no diagnostic values`);
    const length = sequence.ids.length;
    this.diagnostics.forEach((column, c) => {
      const from = this.diagnosticStarts[c]! * length + position * column.length;
      const target = this.diagnosticLists[c]!;
      if (target instanceof Int32Array) for (let i = 0; i < column.length; i += 1) target[row * column.length + i] = Math.round(values[from + i]!);
      else target.set(values.subarray(from, from + column.length), row * column.length);
    });
  }

  end(): void {
    this.rows += 1;
    if (this.rows === this.capacity) this.flush();
  }

  flush(): void {
    const rows = this.rows;
    if (rows === 0) return;
    const values = new Map<string, ColumnValues>([
      ['prompt', this.prompt.subarray(0, rows)],
      ['position', this.position.subarray(0, rows)],
      ['token_id', this.tokenId.subarray(0, rows)],
      ['token', this.token],
      ['excluded', this.excluded.subarray(0, rows)],
      ['excluded_as', this.excludedAs],
    ]);
    this.names.forEach((name, c) => values.set(name, this.lists[c]!.subarray(0, rows * this.nLayers)));
    this.diagnostics.forEach(({ name, length }, c) => values.set(name, this.diagnosticLists[c]!.subarray(0, rows * length)));
    this.writer.writeRowGroup(rows, values);
    this.rows = 0;
    this.token = [];
    this.excludedAs = [];
  }
}

interface PromptRow {
  included: number;
  /** [column × nLayers + layer] */
  sums: Float64Array;
  sumLogs: Float64Array;
  sumSquares: Float64Array;
}

/** Prompt rows of the row group being filled. */
class PromptRowBuffer {
  private readonly capacity: number;
  /** Rows the arrays below have room for (grown up to `capacity` as rows come). */
  private allocated = 0;
  private prompt = new Int32Array(0);
  private tokens = new Int32Array(0);
  private included = new Int32Array(0);
  private truncated = new Uint8Array(0);
  private text: Array<string | null> = [];
  /** [sum kind][column] → [row × nLayers] */
  private lists: Float64Array[][];
  /** Per-sequence diagnostic columns: [row × length] each. */
  private sequenceLists: Array<Float32Array | Int32Array>;
  /** Values per sequence of the per-sequence diagnostics (0: none). */
  readonly sequenceWidth: number;
  private readonly sequenceStarts: readonly number[];
  private readonly current: PromptRow;
  private rows = 0;

  constructor(
    readonly writer: ParquetFileWriter,
    private readonly columns: ReturnType<typeof normColumns>,
    private readonly nLayers: number,
    private readonly sequenceDiagnostics: readonly DiagnosticColumn[],
  ) {
    const offsets = columnOffsets(sequenceDiagnostics);
    this.sequenceWidth = offsets.width;
    this.sequenceStarts = offsets.starts;
    this.capacity = rowsPerGroup(columns.length * PROMPT_SUMS.length * nLayers + Math.ceil(this.sequenceWidth / 2), 8);
    this.lists = PROMPT_SUMS.map(() => columns.map(() => new Float64Array(0)));
    this.sequenceLists = sequenceDiagnostics.map(({ kind }) => (kind === 'int32-list' ? new Int32Array(0) : new Float32Array(0)));
    const cells = columns.length * nLayers;
    this.current = { included: 0, sums: new Float64Array(cells), sumLogs: new Float64Array(cells), sumSquares: new Float64Array(cells) };
  }

  private grow(): void {
    const rows = nextRows(this.allocated, this.capacity);
    this.prompt = withRows(this.prompt, rows);
    this.tokens = withRows(this.tokens, rows);
    this.included = withRows(this.included, rows);
    this.truncated = withRows(this.truncated, rows);
    this.lists = this.lists.map((kind) => kind.map((list) => withRows(list, rows, this.nLayers)));
    this.sequenceLists = this.sequenceLists.map((list, c) => withRows(list, rows, this.sequenceDiagnostics[c]!.length));
    this.allocated = rows;
  }

  /** The current row's per-sequence diagnostic values ([column][list], the columns' order). */
  addSequenceDiagnostics(values: Float32Array): void {
    this.sequenceDiagnostics.forEach((column, c) => {
      const from = this.sequenceStarts[c]!;
      const target = this.sequenceLists[c]!;
      const at = this.rows * column.length;
      if (target instanceof Int32Array) for (let i = 0; i < column.length; i += 1) target[at + i] = Math.round(values[from + i]!);
      else target.set(values.subarray(from, from + column.length), at);
    });
  }

  begin(sequence: SequenceNorms): PromptRow {
    const row = this.rows;
    if (row === this.allocated) this.grow();
    this.prompt[row] = sequence.prompt;
    this.tokens[row] = sequence.ids.length;
    this.truncated[row] = sequence.truncated ? 1 : 0;
    this.text.push(sequence.text ?? null);
    this.current.included = 0;
    this.current.sums.fill(0);
    this.current.sumLogs.fill(0);
    this.current.sumSquares.fill(0);
    return this.current;
  }

  end(): void {
    const row = this.rows;
    const { nLayers } = this;
    this.included[row] = this.current.included;
    const sources = [this.current.sums, this.current.sumLogs, this.current.sumSquares];
    sources.forEach((source, kind) => {
      this.columns.forEach((_, c) => this.lists[kind]![c]!.set(source.subarray(c * nLayers, (c + 1) * nLayers), row * nLayers));
    });
    this.rows += 1;
    if (this.rows === this.capacity) this.flush();
  }

  flush(): void {
    const rows = this.rows;
    if (rows === 0) return;
    const values = new Map<string, ColumnValues>([
      ['prompt', this.prompt.subarray(0, rows)],
      ['tokens', this.tokens.subarray(0, rows)],
      ['included', this.included.subarray(0, rows)],
      ['truncated', this.truncated.subarray(0, rows)],
      ['text', this.text],
    ]);
    PROMPT_SUMS.forEach((sum, kind) => {
      this.columns.forEach(({ hook, metric }, c) => values.set(promptSumColumn(hook, metric, sum), this.lists[kind]![c]!.subarray(0, rows * this.nLayers)));
    });
    this.sequenceDiagnostics.forEach(({ name, length }, c) => values.set(name, this.sequenceLists[c]!.subarray(0, rows * length)));
    this.writer.writeRowGroup(rows, values);
    this.rows = 0;
    this.text = [];
  }
}
