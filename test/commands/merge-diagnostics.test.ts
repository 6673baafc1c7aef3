/**
 * `measure --shard i/n --diagnostics …` and `merge`: the shards carry their diagnostic columns
 * and summaries, and merging them gives the results file and tables of the same run without
 * --shard (tables byte for byte, JSON apart from runtime), on a sequential model (GPT-2) and a
 * parallel-residual one (GPT-NeoX). Merge refuses shards measured with different diagnostics.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { EXACT_LIMIT } from '../../src/analysis/streaming-summary.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { mergeShards } from '../../src/commands/merge.js';
import { InputError, InterruptedError } from '../../src/errors.js';
import { DIAGNOSTICS, diagnosticColumns, type DiagnosticShape } from '../../src/results/diagnostics.js';
import { readDiagnostics } from '../../src/results/diagnostics-info.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { assertSameTables, interruptAfter } from '../support/run-comparison.js';

type Row = Record<string, unknown>;

const selection = { diagnostics: [...DIAGNOSTICS], massiveDims: [1, 5] };

async function tokenRows(outPath: string): Promise<Row[]> {
  return (await parquetReadObjects({ file: await asyncBufferFromFile(tablePaths(outPath).tokens) })) as Row[];
}

/** The results file as written, without what differs between a merged and an unsharded run: runtime, shard and the tables' file names. */
async function comparableJson(path: string): Promise<string> {
  const {
    runtime: _runtime,
    shard: _shard,
    tables,
    ...rest
  } = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown> & { tables: Record<string, { rows: number }> };
  return JSON.stringify({ ...rest, rows: [tables.tokens!.rows, tables.prompts!.rows] });
}

/** The runs below measure 11 prompts in batches of 2. */
const BATCHES = 6;

// Each architecture has its own diagnostic columns; the merge itself does not depend on it, so
// the shard layouts are split between them: 3 shards and a resumed shard on GPT-2, 8 shards
// (two of them without a batch) on GPT-NeoX.
const ARCHITECTURES = [
  {
    name: 'GPT-2 (sequential)',
    write: (dir: string) => writeTinyGpt2(dir, { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 64 }),
    shape: { nLayers: 2, nHeads: 2, dModel: 16, parallelResidual: false },
    shards: 3,
    resumed: true,
  },
  {
    name: 'GPT-NeoX (parallel residual)',
    write: (dir: string) => writeTinyGptNeox(dir, { nLayers: 3, dModel: 32, nHeads: 4, nCtx: 64, seed: 9 }),
    shape: { nLayers: 3, nHeads: 4, dModel: 32, parallelResidual: true },
    shards: 8,
    resumed: false,
  },
] as const;

for (const architecture of ARCHITECTURES) {
  describe(`measure --shard with --diagnostics, then merge: ${architecture.name}`, () => {
    let dir: string;
    let base: MeasureRequest;
    let reference: string;
    const shape: DiagnosticShape = architecture.shape;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'rn-merge-diagnostics-'));
      const tiny = await architecture.write(join(dir, 'model'));
      const promptsPath = join(dir, 'prompts.jsonl');
      // Token ids (every id < 257, the byte tokenizer's), lengths 3…13; 11 prompts, 6 batches of 2.
      await writeFile(
        promptsPath,
        Array.from({ length: 11 }, (_, i) => JSON.stringify({ ids: Array.from({ length: 3 + i }, (_, p) => (i * 29 + p * 13) % 257) })).join('\n'),
      );
      base = { model: tiny.dir, promptsPath, batchSize: 2, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false, ...selection };
      reference = join(dir, 'reference.json');
      await measure({ ...base, outPath: reference }, createSilentReporter());
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    it(`each of ${architecture.shards} shards${architecture.shards > BATCHES ? ` (${architecture.shards - BATCHES} without a batch)` : ''} carries its diagnostic columns and summaries of its own tokens; merged, they equal the unsharded run`, async () => {
      const count = architecture.shards;
      const paths = Array.from({ length: count }, (_, i) => join(dir, `shard-${i + 1}.json`));
      for (const [i, path] of paths.entries()) await measure({ ...base, outPath: path, shard: { index: i + 1, count } }, createSilentReporter());
      const columns = diagnosticColumns(selection, shape);
      assert.ok(columns.some((c) => c.kind === 'int32-list') && columns.some((c) => c.perLayer > 1), 'per-layer, per-head and int32 columns are all merged');
      let shardTokens = 0;
      for (const path of paths) {
        const shard = JSON.parse(await readFile(path, 'utf8')) as { tokens: { measured: number; excluded: number }; model: { id: string } };
        const recorded = readDiagnostics(shard);
        assert.ok(recorded, `${path} records its diagnostics`);
        assert.deepEqual(
          [recorded.selected, recorded.massiveDims, recorded.columns],
          [selection.diagnostics, selection.massiveDims, columns.map((c) => c.name)],
        );
        assert.equal(recorded.summaries.included, shard.tokens.measured - shard.tokens.excluded, 'a shard summarizes its own tokens');
        const rows = await tokenRows(path);
        assert.equal(rows.length, shard.tokens.measured);
        for (const column of columns)
          assert.ok(
            rows.every((row) => (row[column.name] as unknown[]).length === column.length),
            `${path} has ${column.name}`,
          );
        shardTokens += rows.length;
      }
      if (count > BATCHES)
        assert.equal(
          readDiagnostics(JSON.parse(await readFile(paths[count - 1]!, 'utf8')) as { model: { id: string } })?.summaries.included,
          0,
          'the last shards have no batch',
        );
      const merged = join(dir, 'merged.json');
      await mergeShards([...paths.slice(1), paths[0]!], merged); // in any order
      assert.equal(shardTokens, (await tokenRows(merged)).length);
      assert.equal(await comparableJson(merged), await comparableJson(reference));
      await assertSameTables(merged, reference);
      // The same, value by value, through an independent reader (hyparquet).
      const [mergedRows, referenceRows] = [await tokenRows(merged), await tokenRows(reference)];
      for (const column of columns)
        assert.deepEqual(
          mergedRows.map((row) => row[column.name]),
          referenceRows.map((row) => row[column.name]),
          column.name,
        );
      const summaries = readDiagnostics(JSON.parse(await readFile(merged, 'utf8')) as { model: { id: string } })!.summaries;
      assert.ok(
        Object.keys(summaries.perLayer).length > 0 && Object.keys(summaries.perHeadMeans).length > 0 && summaries.massiveDims,
        'summaries of every kind are compared',
      );
    });

    if (architecture.resumed)
      it('a shard interrupted and resumed with diagnostics merges to the same results', async () => {
        const paths = [1, 2].map((index) => join(dir, `resumed-${index}.json`));
        const controller = new AbortController();
        await assert.rejects(
          measure({ ...base, outPath: paths[1]!, shard: { index: 2, count: 2 }, signal: controller.signal }, interruptAfter(0, controller)),
          InterruptedError,
        );
        const reporter = createSilentReporter();
        await measure({ ...base, outPath: paths[1]!, shard: { index: 2, count: 2 } }, reporter);
        assert.ok(
          reporter.messages.some((m) => /resuming: 1 of 3 batches are done/.test(m)),
          reporter.messages.join('\n'),
        );
        await measure({ ...base, outPath: paths[0]!, shard: { index: 1, count: 2 } }, createSilentReporter());
        const merged = join(dir, 'resumed.json');
        await mergeShards(paths, merged);
        assert.equal(await comparableJson(merged), await comparableJson(reference));
        await assertSameTables(merged, reference);
      });
  });
}

describe('merge refuses shards with different diagnostics', () => {
  let dir: string;
  let base: MeasureRequest;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-merge-diagnostics-refused-'));
    const tiny = await writeTinyGpt2(join(dir, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 64 });
    const promptsPath = join(dir, 'prompts.txt');
    await writeFile(promptsPath, 'one prompt\nand another one\nand a third\n');
    base = { model: tiny.dir, promptsPath, batchSize: 1, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false };
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('names the files and their selections in one line, and writes nothing', async () => {
    const shard = async (name: string, index: number, request: Partial<MeasureRequest>): Promise<string> => {
      const outPath = join(dir, `${name}.json`);
      await measure({ ...base, ...request, outPath, shard: { index, count: 3 } }, createSilentReporter());
      return outPath;
    };
    const selection: Partial<MeasureRequest> = { diagnostics: ['cosines', 'massive', 'sinks', 'heads'], massiveDims: [3] };
    const all = await shard('all-1', 1, selection);
    const all2 = await shard('all-2', 2, selection);
    const all3 = await shard('all-3', 3, selection);
    const cosines = await shard('cosines-3', 3, { diagnostics: ['cosines'] });
    const otherDims = await shard('dims-3', 3, { ...selection, massiveDims: [4] });
    const otherSinks = await shard('sinks-3', 3, { ...selection, sinkTokens: 2 });
    const unfolded = await shard('unfolded-3', 3, { ...selection, foldValueBiases: false });
    const none = await shard('none-3', 3, {});
    const out = join(dir, 'merged.json');
    const common = 'with cosines,massive,sinks,heads with --massive-dims 3, --sink-tokens 4, value biases folded';
    const cases: Array<[string, RegExp]> = [
      [
        cosines,
        new RegExp(
          `^the shards differ in diagnostics: ".*all-1\\.json", ".*all-2\\.json" ${common}; ".*cosines-3\\.json" with cosines; shards must come from one run`,
        ),
      ],
      [
        otherDims,
        new RegExp(
          `^the shards differ in diagnostics: .* ${common}; ".*dims-3\\.json" with cosines,massive,sinks,heads with --massive-dims 4, --sink-tokens 4, value biases folded; `,
        ),
      ],
      [
        otherSinks,
        new RegExp(
          `^the shards differ in diagnostics: .* ${common}; ".*sinks-3\\.json" with cosines,massive,sinks,heads with --massive-dims 3, --sink-tokens 2, value biases folded; `,
        ),
      ],
      [
        unfolded,
        new RegExp(
          `^the shards differ in diagnostics: .* ${common}; ".*unfolded-3\\.json" with cosines,massive,sinks,heads with --massive-dims 3, --sink-tokens 4, value biases unfolded; `,
        ),
      ],
      [none, new RegExp(`^the shards differ in diagnostics: .* ${common}; ".*none-3\\.json" without diagnostics; `)],
    ];
    for (const [third, message] of cases) {
      await assert.rejects(mergeShards([all, all2, third], out), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.match(error.message, message);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
      await assert.rejects(readFile(out), 'no merged file after a refusal');
    }
    // A shard whose listed columns are not those its selection gives (another version's file).
    const foreign = JSON.parse(await readFile(all3, 'utf8')) as { diagnostics: { columns: string[] } };
    foreign.diagnostics.columns = foreign.diagnostics.columns.map((name) => (name === 'massive_max' ? 'massive_peak' : name));
    const foreignPath = join(dir, 'foreign-3.json');
    await writeFile(foreignPath, JSON.stringify(foreign));
    await assert.rejects(
      mergeShards([all, all2, foreignPath], out),
      /^InputError: ".*foreign-3\.json" lists the diagnostic columns .*massive_peak.*, but this resid-norms gives .*massive_max.* for its selection; merge with the version that measured it$/,
    );
    await assert.rejects(readFile(out), 'no merged file after a refusal');
    await mergeShards([all, all2, all3], out); // the matching set merges
    assert.deepEqual(readDiagnostics(JSON.parse(await readFile(out, 'utf8')) as { model: { id: string } })?.massiveDims, [3]);
  });
});

describe('merge with diagnostics past the exact quantiles', () => {
  let dir: string;
  after(async () => rm(dir, { recursive: true, force: true }));

  it('sketched quantiles (more than EXACT_LIMIT tokens) of the merged file equal the unsharded run', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-merge-diagnostics-sketch-'));
    const tiny = await writeTinyGpt2(join(dir, 'model'), { nLayers: 1, dModel: 8, nHeads: 2, nCtx: 64 });
    const promptsPath = join(dir, 'prompts.jsonl');
    const prompts = Math.ceil(EXACT_LIMIT / 60) + 2; // 63 ids + BOS each, 63 included
    await writeFile(
      promptsPath,
      Array.from({ length: prompts }, (_, i) => JSON.stringify({ ids: Array.from({ length: 63 }, (_, p) => (i * 7 + p * 11) % 257) })).join('\n'),
    );
    const base: MeasureRequest = {
      model: tiny.dir,
      promptsPath,
      batchSize: 32,
      prependBos: true,
      exclusions: true,
      device: 'cpu',
      threads: 1,
      refresh: false,
      diagnostics: ['cosines', 'massive-median', 'sinks'],
    };
    const reference = join(dir, 'reference.json');
    await measure({ ...base, outPath: reference }, createSilentReporter());
    const paths = [1, 2].map((index) => join(dir, `shard-${index}.json`));
    for (const [i, path] of paths.entries()) await measure({ ...base, outPath: path, shard: { index: i + 1, count: 2 } }, createSilentReporter());
    const merged = join(dir, 'merged.json');
    await mergeShards(paths, merged);
    const summaries = readDiagnostics(JSON.parse(await readFile(merged, 'utf8')) as { model: { id: string } })!.summaries;
    assert.ok(
      summaries.perLayer.massive_median_ratio![0]!.count > EXACT_LIMIT,
      `${summaries.perLayer.massive_median_ratio![0]!.count} tokens: past the exact quantiles`,
    );
    // Merge feeds the writer the same tokens in the same (prompt, position) order as the
    // unsharded run, so even the order-dependent parts (Welford's mean, the sketch) agree exactly.
    assert.equal(await comparableJson(merged), await comparableJson(reference));
    await assertSameTables(merged, reference);
  });
});
