import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { ParquetFileWriter, type ColumnSpec } from '../../src/store/parquet-writer.js';

const COLUMNS: ColumnSpec[] = [
  { name: 'prompt', kind: 'int32' },
  { name: 'excluded', kind: 'bool' },
  { name: 'token', kind: 'string' },
  { name: 'text', kind: 'string', optional: true },
  { name: 'norms', kind: 'float32-list', length: 3 },
  { name: 'sums', kind: 'float64-list', length: 1 },
];

/** Rows [first, first + count): every value derived from the row index, so a reader's output can be checked exactly. */
function rowGroup(first: number, count: number): Map<string, Int32Array | Uint8Array | Float32Array | Float64Array | Array<string | null>> {
  const rows = Array.from({ length: count }, (_, i) => first + i);
  return new Map<string, Int32Array | Uint8Array | Float32Array | Float64Array | Array<string | null>>([
    ['prompt', Int32Array.from(rows, (row) => row >> 2)],
    ['excluded', Uint8Array.from(rows, (row) => (row % 4 === 0 ? 1 : 0))],
    ['token', rows.map((row) => `tok ${row % 7} é`)],
    ['text', rows.map((row) => (row % 3 === 0 ? null : `text ${row}`))],
    ['norms', Float32Array.from({ length: count * 3 }, (_, k) => Math.fround(rows[Math.floor(k / 3)]! + (k % 3) / 3))],
    ['sums', Float64Array.from(rows, (row) => row / 7)],
  ]);
}

describe('ParquetFileWriter', () => {
  let folder = '';
  after(() => rm(folder, { recursive: true, force: true }));

  it('writes row groups that an independent reader (hyparquet, DuckDB) reads back exactly', async () => {
    folder = await mkdtemp(join(tmpdir(), 'resid-norms-parquet-'));
    const path = join(folder, 'table.parquet');
    const writer = ParquetFileWriter.create(path, COLUMNS);
    writer.writeRowGroup(1000, rowGroup(0, 1000));
    writer.writeRowGroup(100_000, rowGroup(1000, 100_000)); // more than one page (1 MB) per list column
    writer.writeRowGroup(5, rowGroup(101_000, 5));
    writer.finish([{ key: 'resid-norms', value: '{"test":true}' }]);
    const rows = 101_005;

    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    assert.equal(Number(metadata.num_rows), rows);
    assert.equal(metadata.row_groups.length, 3);
    assert.deepEqual(metadata.key_value_metadata, [{ key: 'resid-norms', value: '{"test":true}' }]);
    const sample = await parquetReadObjects({ file, rowStart: 99_998, rowEnd: 101_003 });
    sample.forEach((row, i) => {
      const index = 99_998 + i;
      assert.equal(row.prompt, index >> 2);
      assert.equal(row.excluded, index % 4 === 0);
      assert.equal(row.token, `tok ${index % 7} é`);
      assert.equal(row.text, index % 3 === 0 ? null : `text ${index}`);
      assert.deepEqual(
        row.norms,
        [0, 1, 2].map((k) => Math.fround(index + k / 3)),
      );
      assert.deepEqual(row.sums, [index / 7]);
    });

    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, sum(prompt)::DOUBLE AS prompts, sum(norms[3])::DOUBLE AS last, count(text)::INTEGER AS texts,
              sum(CASE WHEN excluded THEN 1 ELSE 0 END)::INTEGER AS excluded FROM read_parquet('${path}')`,
    );
    const [n, prompts, last, texts, excluded] = reader.getRows()[0]!;
    let expectedLast = 0;
    let expectedPrompts = 0;
    for (let row = 0; row < rows; row += 1) {
      expectedLast += Math.fround(row + 2 / 3);
      expectedPrompts += row >> 2;
    }
    assert.equal(n, rows);
    assert.equal(prompts, expectedPrompts);
    assert.ok(Math.abs((last as number) - expectedLast) / expectedLast < 1e-9);
    assert.equal(texts, rows - Math.ceil(rows / 3));
    assert.equal(excluded, Math.ceil(rows / 4));
    connection.closeSync();
    instance.closeSync();
  });
});
