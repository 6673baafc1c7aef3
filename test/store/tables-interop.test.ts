/**
 * The tables `measure` writes, read by an independent Parquet reader (hyparquet, pure
 * JavaScript, not the code that wrote them), and the results file's size against the run's.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { InputError } from '../../src/errors.js';
import { parseMeasurement } from '../../src/results/read-measurement.js';
import { fitMeasurementFile } from '../../src/store/fit-measurement.js';
import { readMeasurementFile } from '../../src/store/open-results.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { readMeasured } from '../support/measured.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

describe('the tables of a measurement', () => {
  let dir = '';
  let base: MeasureRequest;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-interop-'));
    const tiny = await writeTinyGpt2(join(dir, 'model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 64 });
    base = { model: tiny.dir, batchSize: 4, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function run(name: string, prompts: string[]): Promise<string> {
    const promptsPath = join(dir, `${name}.txt`);
    await writeFile(promptsPath, prompts.join('\n'));
    const outPath = join(dir, `${name}.json`);
    await measure({ ...base, promptsPath, outPath }, createSilentReporter());
    return outPath;
  }

  it('read by hyparquet: one row per token in prompt order, every column, the values DuckDB reads', async () => {
    const outPath = await run('interop', ['Hello world', 'a longer prompt, with more tokens in it', 'x']);
    const measured = await readMeasured(outPath);
    const { tokens, prompts } = tablePaths(outPath);
    const file = await asyncBufferFromFile(tokens);
    const metadata = await parquetMetadataAsync(file);
    assert.equal(Number(metadata.num_rows), measured.tokens.measured);
    const rows = await parquetReadObjects({ file });
    const expected = measured.sequences.flatMap((sequence, prompt) => sequence.ids.map((id, position) => ({ sequence, prompt, position, id })));
    assert.equal(rows.length, expected.length);
    const columns = [
      'prompt',
      'position',
      'token_id',
      'token',
      'excluded',
      'excluded_as',
      ...measured.hooks.flatMap((hook) => [`${hook}_centered`, `${hook}_raw`]),
    ];
    assert.deepEqual(Object.keys(rows[0]!), columns);
    rows.forEach((row, i) => {
      const { sequence, prompt, position, id } = expected[i]!;
      assert.equal(row.prompt, prompt);
      assert.equal(row.position, position);
      assert.equal(row.token_id, id);
      assert.equal(row.token, sequence.tokens[position]);
      assert.equal(row.excluded, position === 0, 'BOS (position 0) is flagged');
      assert.equal(row.excluded_as, position === 0 ? 'position 0' : null);
      for (const hook of measured.hooks) {
        assert.deepEqual(
          row[`${hook}_centered`],
          sequence.norms[hook]!.map((layer) => layer[position]),
        );
        assert.deepEqual(
          row[`${hook}_raw`],
          sequence.rawNorms[hook]!.map((layer) => layer[position]),
        );
      }
    });
    const promptRows = await parquetReadObjects({
      file: await asyncBufferFromFile(prompts),
      columns: ['prompt', 'tokens', 'included', 'resid_pre_centered_sum'],
    });
    promptRows.forEach((row, prompt) => {
      const sequence = measured.sequences[prompt]!;
      assert.deepEqual([row.prompt, row.tokens, row.included], [prompt, sequence.ids.length, sequence.ids.length - 1]);
      const sums = sequence.norms.resid_pre!.map((layer) => layer.slice(1).reduce((a, b) => a + b, 0));
      (row.resid_pre_centered_sum as number[]).forEach((sum, layer) => assert.ok(Math.abs(sum - sums[layer]!) <= 1e-12 * sums[layer]!));
    });
  });

  it('keeps the results file the same size whatever the number of prompts', async () => {
    const few = await run('few', ['one prompt', 'two prompts']);
    const many = await run(
      'many',
      Array.from({ length: 60 }, (_, i) => `prompt ${i} ${'word '.repeat(i % 7)}`),
    );
    const [fewBytes, manyBytes] = [(await stat(few)).size, (await stat(many)).size];
    // Only the digits of counts and statistics differ.
    assert.ok(Math.abs(manyBytes - fewBytes) < 0.05 * fewBytes, `${fewBytes} vs ${manyBytes} bytes`);
    assert.ok((await stat(tablePaths(many).tokens)).size > (10 * (await stat(tablePaths(few).tokens)).size) / 2, 'the tables grow instead');
  });
});

describe('a results file whose tables are missing, from another run, or torn', () => {
  let dir = '';
  let outPath = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-tables-bad-'));
    const tiny = await writeTinyGpt2(join(dir, 'model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 64 });
    const base: MeasureRequest = { model: tiny.dir, batchSize: 4, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false };
    for (const [name, prompts] of [
      ['r', ['one prompt', 'two prompts here']],
      ['other', ['a different prompt set', 'x', 'y']],
    ] as const) {
      await writeFile(join(dir, `${name}.txt`), prompts.join('\n'));
      await measure({ ...base, promptsPath: join(dir, `${name}.txt`), outPath: join(dir, `${name}.json`) }, createSilentReporter());
    }
    outPath = join(dir, 'r.json');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const fitOf = async (path: string) => fitMeasurementFile(await readMeasurementFile(path), { hook: 'resid_pre' });

  it('names the missing table', async () => {
    await rename(tablePaths(outPath).tokens, join(dir, 'moved.parquet'));
    try {
      await assert.rejects(
        fitOf(outPath),
        (error: unknown) =>
          error instanceof InputError &&
          /^cannot read ".*r\.tokens\.parquet", a table of ".*r\.json": .*; measure again or restore the file$/.test(error.message),
      );
    } finally {
      await rename(join(dir, 'moved.parquet'), tablePaths(outPath).tokens);
    }
  });

  it('refuses tables of another run by their run id', async () => {
    const mixed = join(dir, 'mixed.json');
    await copyFile(outPath, mixed);
    await copyFile(tablePaths(join(dir, 'other.json')).tokens, tablePaths(mixed).tokens);
    await copyFile(tablePaths(outPath).prompts, tablePaths(mixed).prompts);
    const document = JSON.parse(await readFile(mixed, 'utf8')) as { tables: { tokens: { name: string }; prompts: { name: string } } };
    document.tables.tokens.name = 'mixed.tokens.parquet';
    document.tables.prompts.name = 'mixed.prompts.parquet';
    await writeFile(mixed, JSON.stringify(document));
    await assert.rejects(
      fitOf(mixed),
      (error: unknown) =>
        error instanceof InputError &&
        /mixed\.tokens\.parquet" is not a table of ".*mixed\.json": its run id is [0-9a-f]{32}, the results file's [0-9a-f]{32} \(the files are from different runs/.test(
          error.message,
        ),
    );
  });

  it('refuses tables whose row count is not what their results file says', async () => {
    const counted = join(dir, 'counted.json');
    await copyFile(tablePaths(outPath).tokens, tablePaths(counted).tokens);
    await copyFile(tablePaths(outPath).prompts, tablePaths(counted).prompts);
    const document = JSON.parse(await readFile(outPath, 'utf8')) as {
      tables: { tokens: { name: string; rows: number }; prompts: { name: string } };
      tokens: { measured: number };
    };
    document.tables.tokens.name = 'counted.tokens.parquet';
    document.tables.prompts.name = 'counted.prompts.parquet';
    document.tables.tokens.rows += 1;
    document.tokens.measured += 1;
    await writeFile(counted, JSON.stringify(document));
    await assert.rejects(
      fitOf(counted),
      (error: unknown) =>
        error instanceof InputError &&
        /counted\.tokens\.parquet" has \d+ rows but ".*counted\.json" says \d+; the files are from different runs: measure again$/.test(error.message),
    );
  });

  it('refuses a table cut short', async () => {
    const torn = join(dir, 'torn.json');
    await copyFile(outPath, torn);
    const bytes = await readFile(tablePaths(outPath).tokens);
    await writeFile(tablePaths(torn).tokens, bytes.subarray(0, bytes.length - 100));
    await copyFile(tablePaths(outPath).prompts, tablePaths(torn).prompts);
    const document = JSON.parse(await readFile(torn, 'utf8')) as { tables: { tokens: { name: string }; prompts: { name: string } } };
    document.tables.tokens.name = 'torn.tokens.parquet';
    document.tables.prompts.name = 'torn.prompts.parquet';
    await writeFile(torn, JSON.stringify(document));
    await assert.rejects(
      fitOf(torn),
      (error: unknown) => error instanceof InputError && /^cannot read ".*torn\.tokens\.parquet", a table of/.test(error.message),
    );
  });

  it('refuses a results file whose token count does not match its tables, before reading them', async () => {
    const document = JSON.parse(await readFile(outPath, 'utf8')) as { tokens: { measured: number } };
    document.tokens.measured += 1;
    assert.throws(
      () => parseMeasurement(JSON.stringify(document), 'r.json'),
      (error: unknown) => error instanceof InputError && /do not match the tokens table/.test(error.message),
    );
  });
});
