/**
 * A streaming Parquet writer for resid-norms' own tables: row groups go to disk as they are
 * made, the footer at the end, so memory is bounded by one row group however long the run.
 *
 * Scalar columns (ids, flags, token strings) are encoded by hyparquet-writer's column writer
 * (dictionary encoding, statistics, snappy). Lists of floats, which are almost every byte of a
 * run, are written here as PLAIN data pages straight from typed arrays: hyparquet-writer's
 * generic nested encoder costs about 200 ns per value (measured; parquet-wasm 320–410 ns,
 * DuckDB's appender + COPY about 250 ns), while a page of float32 is a memory copy plus two
 * run-length level streams whose pattern is known in advance (every list has `length` items).
 * The file is written under an exclusive temporary name (src/io/output-file.ts) and renamed into
 * place when complete.
 */
import type { ColumnChunk, KeyValue, SchemaElement } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import { createHash, type Hash } from 'node:crypto';
import { TempFile } from '../io/output-file.js';

export type ColumnSpec =
  | { name: string; kind: 'int32' }
  | { name: string; kind: 'bool' }
  /** UTF-8 strings; dictionary-encoded whenever that halves their size (token strings do). */
  | { name: string; kind: 'string'; optional?: boolean }
  /** A list of exactly `length` numbers per row, e.g. one value per layer. */
  | { name: string; kind: 'float32-list' | 'float64-list' | 'int32-list'; length: number };

/** Values of one column for the rows of a row group; lists are flat, [row × length]. */
export type ColumnValues = Int32Array | Uint8Array | Float32Array | Float64Array | ReadonlyArray<string | null>;

/** Column name → values, for every column of the table. */
export type RowGroup = ReadonlyMap<string, ColumnValues>;

/** Pages of list columns stay near this size, as Parquet readers expect. */
const PAGE_BYTES = 1 << 20;
const MAGIC = 0x31524150; // "PAR1"

const LIST_ELEMENT_TYPES = { 'float32-list': 'FLOAT', 'float64-list': 'DOUBLE', 'int32-list': 'INT32' } as const;

export function schemaOf(columns: readonly ColumnSpec[]): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: 'schema', num_children: columns.length }];
  for (const column of columns) {
    if (column.kind === 'int32') schema.push({ name: column.name, type: 'INT32', repetition_type: 'REQUIRED' });
    else if (column.kind === 'bool') schema.push({ name: column.name, type: 'BOOLEAN', repetition_type: 'REQUIRED' });
    else if (column.kind === 'string') {
      schema.push({ name: column.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: column.optional ? 'OPTIONAL' : 'REQUIRED' });
    } else {
      schema.push(
        { name: column.name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: LIST_ELEMENT_TYPES[column.kind], repetition_type: 'REQUIRED' },
      );
    }
  }
  return schema;
}

export class ParquetFileWriter {
  private readonly schema: SchemaElement[];
  private readonly rowGroups: Array<{ columns: ColumnChunk[]; total_byte_size: bigint; num_rows: bigint }> = [];
  private offset = 0;
  private rows = 0;
  /** sha256 of every byte before the footer: what the table holds, whatever its metadata says. */
  private readonly hash: Hash = createHash('sha256');

  private constructor(
    private readonly file: TempFile,
    private readonly columns: readonly ColumnSpec[],
  ) {
    this.schema = schemaOf(columns);
    this.append(Uint8Array.of(0x50, 0x41, 0x52, 0x31));
  }

  /** Start writing the table `path` under a temp name beside it; `finish` renames it into place. */
  static create(path: string, columns: readonly ColumnSpec[]): ParquetFileWriter {
    const file = TempFile.create(path, 'partial');
    try {
      return new ParquetFileWriter(file, columns);
    } catch (error) {
      file.abort(); // the magic bytes did not fit (a full disk): no partial file left behind
      throw error;
    }
  }

  /** The table's final path. */
  get path(): string {
    return this.file.target;
  }

  get rowCount(): number {
    return this.rows;
  }

  /**
   * Encode and write one row group; every column of the table must be given. Each column goes
   * to the file as soon as it is encoded, and float pages straight from the caller's typed
   * array, so writing holds at most one scalar column's bytes beyond the caller's buffers.
   */
  writeRowGroup(rows: number, values: RowGroup): void {
    if (rows === 0) return;
    const start = this.offset;
    const chunks = this.columns.map((column) => {
      const data = values.get(column.name);
      if (data === undefined) throw new Error(`row group lacks column ${column.name}`);
      if ('length' in column) return this.writeListColumn(column, data as Float32Array | Float64Array | Int32Array, rows);
      const writer = new ByteWriter(1 << 16);
      writer.offset = this.offset; // column offsets in the footer are file offsets
      const chunk = writeScalarColumn(writer, column, data, this.schema);
      this.append(writer.getBytes());
      return chunk;
    });
    this.rowGroups.push({ columns: chunks, total_byte_size: BigInt(this.offset - start), num_rows: BigInt(rows) });
    this.rows += rows;
  }

  /**
   * A REQUIRED list of REQUIRED numbers, `length` per row, as DATA_PAGE_V2 pages of PLAIN
   * values. Repetition levels are 0 at the start of each row and 1 inside it (bit-packed, 1 bit
   * each); definition levels are all 1 (one RLE run).
   */
  private writeListColumn(column: Extract<ColumnSpec, { length: number }>, values: Float32Array | Float64Array | Int32Array, rows: number): ColumnChunk {
    const { length } = column;
    if (values.length !== rows * length) throw new Error(`column ${column.name} has ${values.length} values for ${rows} rows of ${length}`);
    const bytesPerValue = values.BYTES_PER_ELEMENT;
    const rowsPerPage = Math.max(1, Math.floor(PAGE_BYTES / (length * bytesPerValue)));
    const start = this.offset;
    for (let first = 0; first < rows; first += rowsPerPage) {
      const pageRows = Math.min(rowsPerPage, rows - first);
      const count = pageRows * length;
      const repetition = repetitionLevels(count, length);
      const definition = allOnesLevels(count);
      const data = new Uint8Array(values.buffer, values.byteOffset + first * length * bytesPerValue, count * bytesPerValue);
      const size = repetition.length + definition.length + data.length;
      const header = new ByteWriter(64);
      writePageHeader(header, {
        type: 'DATA_PAGE_V2',
        uncompressed_page_size: size,
        compressed_page_size: size,
        data_page_header_v2: {
          num_values: count,
          num_nulls: 0,
          num_rows: pageRows,
          encoding: 'PLAIN',
          definition_levels_byte_length: definition.length,
          repetition_levels_byte_length: repetition.length,
          is_compressed: false,
        },
      });
      this.append(header.getBytes());
      this.append(repetition);
      this.append(definition);
      this.append(data);
    }
    return {
      file_offset: BigInt(start),
      meta_data: {
        type: LIST_ELEMENT_TYPES[column.kind],
        encodings: ['PLAIN', 'RLE'],
        path_in_schema: [column.name, 'list', 'element'],
        codec: 'UNCOMPRESSED',
        num_values: BigInt(rows * length),
        total_uncompressed_size: BigInt(this.offset - start),
        total_compressed_size: BigInt(this.offset - start),
        data_page_offset: BigInt(start),
      },
    };
  }

  /** sha256 of the table's bytes so far (its row groups), before the footer is written. */
  contentHash(): Buffer {
    return this.hash.copy().digest();
  }

  /** Write the footer (with `keyValues` as its key-value metadata), sync, and rename the file into place. */
  finish(keyValues: readonly KeyValue[] = []): void {
    const writer = new ByteWriter(1 << 16);
    writeMetadata(writer, {
      version: 2,
      created_by: 'resid-norms',
      schema: this.schema,
      num_rows: BigInt(this.rows),
      row_groups: this.rowGroups,
      key_value_metadata: [...keyValues],
      metadata_length: 0,
    });
    writer.appendUint32(MAGIC);
    this.file.write(writer.getBytes(), this.offset); // the footer is not part of the content hash
    this.file.commit();
  }

  /** Close and delete the partial file (after an error or an interruption). */
  abort(): void {
    this.file.abort();
  }

  private append(bytes: Uint8Array): void {
    this.file.write(bytes, this.offset);
    this.hash.update(bytes);
    this.offset += bytes.length;
  }
}

function writeScalarColumn(writer: ByteWriter, column: Exclude<ColumnSpec, { length: number }>, values: ColumnValues, schema: SchemaElement[]): ColumnChunk {
  const element = schema.find((candidate) => candidate.name === column.name)!;
  const optional = column.kind === 'string' && column.optional === true;
  const definitionLevels = optional ? Array.from(values as ReadonlyArray<string | null>, (value) => (value === null ? 0 : 1)) : [];
  return writeColumn({
    writer,
    column: {
      columnName: column.name,
      element,
      schemaPath: [schema[0]!, element],
      codec: 'SNAPPY',
      compressors: { SNAPPY: snappyCompress },
      stats: true, // min/max per row group let readers skip groups (e.g. one prompt's rows)
      pageSize: PAGE_BYTES,
      columnIndex: false,
      offsetIndex: false,
    },
    pageData: {
      values: (column.kind === 'bool' ? Array.from(values as Uint8Array, Boolean) : values) as never,
      definitionLevels,
      repetitionLevels: [],
      maxDefinitionLevel: optional ? 1 : 0,
    },
  }).chunk;
}

/** ULEB128, as Parquet's RLE/bit-packed hybrid headers use. */
function varint(value: number): number[] {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

/** One RLE run of `count` ones at bit width 1. */
function allOnesLevels(count: number): Uint8Array {
  return Uint8Array.from([...varint(count * 2), 1]);
}

/** Bit-packed repetition levels: bit i is 0 when value i starts a row (i % length == 0), else 1. */
function repetitionLevels(count: number, length: number): Uint8Array {
  const groups = Math.ceil(count / 8);
  const header = varint(groups * 2 + 1);
  const bytes = new Uint8Array(header.length + groups);
  bytes.set(header);
  for (let group = 0; group < groups; group += 1) {
    let byte = 0;
    for (let bit = 0; bit < 8; bit += 1) {
      const index = group * 8 + bit;
      if (index < count && index % length !== 0) byte |= 1 << bit;
    }
    bytes[header.length + group] = byte;
  }
  return bytes;
}
