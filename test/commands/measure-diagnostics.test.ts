import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { InterruptedError, UsageError } from '../../src/errors.js';
import { DIAGNOSTICS, diagnosticColumns, type Diagnostic } from '../../src/results/diagnostics.js';
import { readDiagnostics } from '../../src/results/diagnostics-info.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { measureOf } from '../support/diagnostics-agreement.js';
import { referenceDiagnostics, referenceSequenceDiagnostics } from '../support/reference-diagnostics.js';
import { referenceGpt2, referenceGpt2Head } from '../support/reference-gpt2.js';
import { referenceLens } from '../support/reference-lens.js';
import type { BlockTrace } from '../support/reference-ops.js';
import { writeTinyGpt2, type TinyModel } from '../support/tiny-gpt2.js';
import { assertSameTables, interruptAfter } from '../support/run-comparison.js';

type Row = Record<string, unknown>;

async function tokenRows(outPath: string): Promise<Row[]> {
  return (await parquetReadObjects({ file: await asyncBufferFromFile(tablePaths(outPath).tokens) })) as Row[];
}

describe('measure --diagnostics', () => {
  let dir: string;
  let tiny: TinyModel;
  let base: MeasureRequest;
  const selection = { diagnostics: [...DIAGNOSTICS], massiveDims: [2, 9] };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-measure-diagnostics-'));
    tiny = await writeTinyGpt2(join(dir, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 64 });
    const promptsPath = join(dir, 'prompts.jsonl');
    // Token ids, so the reference sees exactly what the graph sees; lengths 3…12.
    await writeFile(
      promptsPath,
      Array.from({ length: 9 }, (_, i) => JSON.stringify({ ids: Array.from({ length: 3 + i }, (_, p) => (i * 31 + p * 17) % 257) })).join('\n'),
    );
    base = { model: tiny.dir, promptsPath, batchSize: 4, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false };
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('writes every diagnostic column, per token and list over layers (× heads), equal to the reference through checkpoint and Parquet', async () => {
    const outPath = join(dir, 'all.json');
    const { measurement } = await measure({ ...base, outPath, ...selection }, createSilentReporter());
    const shape = { nLayers: 2, nHeads: 2, dModel: 16, parallelResidual: false };
    const columns = diagnosticColumns(selection, shape);
    const recorded = readDiagnostics(measurement);
    assert.ok(recorded, 'the results file records the diagnostics');
    assert.deepEqual(
      { ...recorded, summaries: undefined },
      {
        selected: DIAGNOSTICS,
        massiveDims: [2, 9],
        sinkTokens: 4,
        headValueBiases: 'folded',
        columns: columns.map((c) => c.name),
        sequenceColumns: ['massive_seq_top1', 'massive_seq_top2', 'massive_seq_top3', 'massive_seq_median', 'massive_seq_ratio', 'massive_seq_count'],
        massiveThresholds: { magnitude: 100, timesMedian: 1000 },
        outputHead: { finalNorm: 'transformer.ln_f', unembedding: 'transformer.wte.weight', tied: true },
        summaries: undefined,
      },
    );
    const rows = await tokenRows(outPath);
    const prompts = (await readFile(base.promptsPath!, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { ids: number[] }).ids);
    assert.equal(
      rows.length,
      prompts.reduce((sum, ids) => sum + ids.length, 0),
    );
    let worst = 0;
    let compared = 0;
    for (const [prompt, ids] of prompts.entries()) {
      const trace: BlockTrace[] = [];
      referenceGpt2(tiny.weights, tiny.config, ids, trace);
      const lens = referenceLens(trace, referenceGpt2Head(tiny.weights, tiny.config), ids);
      const expected = referenceDiagnostics(trace, selection, shape, lens);
      const ofPrompt = rows.filter((row) => row.prompt === prompt);
      for (const column of columns) {
        ofPrompt.forEach((row, position) => {
          const actual = row[column.name] as number[];
          assert.equal(actual.length, column.length, `${column.name} has ${column.length} values per token`);
          actual.forEach((value, i) => {
            const want = expected.get(column.name)![position]![i]!;
            // A lens rank may differ only where another logit is within NEAR_TIE of the next token's, and by at most their number.
            if (column.name === 'lens_next_rank')
              assert.ok(
                Math.abs(value - want) <= lens.nearTies[position]![i]!,
                `lens_next_rank of prompt ${prompt}, position ${position}, stream ${i}: ${value} vs ${want}`,
              );
            else if (column.kind === 'int32-list') assert.equal(value, want, `${column.name} of prompt ${prompt}, position ${position}`);
            // The lens's entropy to 5e-5 relative (against at least 0.01 nats: see diagnostics-graph.test.ts).
            else if (column.name === 'lens_entropy') worst = Math.max(worst, Math.abs(value - want) / Math.max(want, 0.01) / 5e-5);
            // Bounded values (cosines, shares, attention) to 1e-5 absolute; magnitudes to 1e-4 relative.
            else
              worst = Math.max(worst, measureOf(column.name) === 'absolute' ? Math.abs(value - want) / 1e-5 : Math.abs(value - want) / Math.abs(want) / 1e-4);
            compared += 1;
          });
        });
      }
    }
    assert.ok(compared > 1000 && worst < 1, `largest difference ${worst} of the tolerance over ${compared} values`);
    // Sun et al.'s per-sequence statistics, in the prompts table, over every token of each prompt (position 0 included).
    const promptRows = (await parquetReadObjects({ file: await asyncBufferFromFile(tablePaths(outPath).prompts) })) as Row[];
    let worstSequence = 0;
    for (const [prompt, ids] of prompts.entries()) {
      const trace: BlockTrace[] = [];
      referenceGpt2(tiny.weights, tiny.config, ids, trace);
      const expected = referenceSequenceDiagnostics(trace, selection, shape);
      const row = promptRows.find((candidate) => candidate.prompt === prompt)!;
      // The largest per-token maximum of a prompt is its per-sequence top 1.
      const ofPrompt = rows.filter((token) => token.prompt === prompt);
      for (const layer of [0, 1])
        assert.equal(Math.max(...ofPrompt.map((token) => (token.massive_max as number[])[layer]!)), (row.massive_seq_top1 as number[])[layer]);
      for (const [name, values] of expected) {
        const actual = row[name] as number[];
        assert.equal(actual.length, 2, `${name} has a value per layer`);
        values.forEach((value, layer) => {
          if (name === 'massive_seq_count') assert.equal(actual[layer], value, `${name} of prompt ${prompt}, layer ${layer}`);
          else worstSequence = Math.max(worstSequence, Math.abs(actual[layer]! - value) / Math.abs(value) / 1e-4);
        });
      }
    }
    assert.ok(worstSequence < 1, `per-sequence statistics differ by ${worstSequence} of the tolerance`);
    const sequences = recorded.summaries.sequences!;
    assert.equal(sequences.sequences, prompts.length);
    const top1 = promptRows.map((row) => (row.massive_seq_top1 as number[])[1]!);
    assert.ok(
      Math.abs(sequences.perLayer.massive_seq_top1![1]!.mean - top1.reduce((a, b) => a + b, 0) / top1.length) < 1e-6,
      'the summary is over the sequences',
    );
  });

  it('a batched run writes the same diagnostics as one prompt at a time (to float32 summation order)', async () => {
    await measure({ ...base, batchSize: 1, outPath: join(dir, 'single.json'), ...selection }, createSilentReporter());
    await measure({ ...base, batchSize: 9, outPath: join(dir, 'batched.json'), ...selection }, createSilentReporter());
    const [single, batched] = [await tokenRows(join(dir, 'single.json')), await tokenRows(join(dir, 'batched.json'))];
    let worst = 0;
    single.forEach((row, r) => {
      for (const name of [
        'cos_mlp_resid_mid_centered',
        'massive_median_ratio',
        'sink_mass',
        'head_write_centered',
        'massive_dim',
        'lens_entropy',
        'lens_next_rank',
      ]) {
        (row[name] as number[]).forEach(
          (value, i) => (worst = Math.max(worst, Math.abs(value - (batched[r]![name] as number[])[i]!) / Math.max(Math.abs(value), 1e-6))),
        );
      }
    });
    // The per-sequence statistics: padding never enters a sequence's median or top values.
    const promptRows = async (name: string) => (await parquetReadObjects({ file: await asyncBufferFromFile(tablePaths(join(dir, name)).prompts) })) as Row[];
    const [alone, together] = [await promptRows('single.json'), await promptRows('batched.json')];
    alone.forEach((row, r) => {
      for (const name of ['massive_seq_top1', 'massive_seq_top3', 'massive_seq_median', 'massive_seq_count']) {
        (row[name] as number[]).forEach(
          (value, i) => (worst = Math.max(worst, Math.abs(value - (together[r]![name] as number[])[i]!) / Math.max(Math.abs(value), 1e-6))),
        );
      }
    });
    assert.ok(worst < 1e-5, `batched differs from one at a time by ${worst}`);
  });

  it('resumes an interrupted run with diagnostics to byte-identical tables, and refuses a checkpoint of another selection', async () => {
    const outPath = join(dir, 'interrupted.json');
    const controller = new AbortController();
    await assert.rejects(measure({ ...base, outPath, signal: controller.signal, ...selection }, interruptAfter(1, controller)), InterruptedError);
    await assert.rejects(measure({ ...base, outPath, diagnostics: ['cosines'] }, createSilentReporter()), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /belongs to a different run \(diagnostics was .*cosines.*massive.*now .*\); rerun with --restart/);
      return true;
    });
    await assert.rejects(measure({ ...base, outPath }, createSilentReporter()), /diagnostics was .*, now nothing/);
    await measure({ ...base, outPath, ...selection }, createSilentReporter());
    await measure({ ...base, outPath: join(dir, 'uninterrupted.json'), ...selection }, createSilentReporter());
    await assertSameTables(outPath, join(dir, 'uninterrupted.json'));
  });

  it('without --diagnostics, the tables have no diagnostic column and the results file no diagnostics field', async () => {
    const outPath = join(dir, 'plain.json');
    const { measurement } = await measure({ ...base, outPath }, createSilentReporter());
    assert.equal(measurement.diagnostics, undefined);
    const [row] = await tokenRows(outPath);
    assert.deepEqual(
      Object.keys(row!).filter((name) => /^(cos_|massive_|sink_|head_|lens_)/.test(name)),
      [],
    );
  });

  it('--sink-tokens 2 and --no-fold-value-biases: the columns and values (against the reference), the results file says so, and the first-k mean is over tokens from position 2 on', async () => {
    const outPath = join(dir, 'options.json');
    const request = { diagnostics: ['sinks', 'heads'] as Diagnostic[], sinkTokens: 2, foldValueBiases: false };
    const { measurement } = await measure({ ...base, outPath, ...request }, createSilentReporter());
    const recorded = readDiagnostics(measurement)!;
    assert.equal(recorded.sinkTokens, 2);
    assert.equal(recorded.headValueBiases, 'unfolded');
    assert.deepEqual(recorded.columns, ['sink_mass', 'sink_mass_first_2', 'head_write_raw', 'head_write_centered']);
    const rows = await tokenRows(outPath);
    const prompts = (await readFile(base.promptsPath!, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { ids: number[] }).ids);
    const shape = { nLayers: 2, nHeads: 2, dModel: 16, parallelResidual: false };
    const selection = { diagnostics: request.diagnostics, sinkTokens: 2, headValueBiases: 'unfolded' as const };
    let worst = 0;
    for (const [prompt, ids] of prompts.entries()) {
      const trace: BlockTrace[] = [];
      referenceGpt2(tiny.weights, tiny.config, ids, trace);
      const expected = referenceDiagnostics(trace, selection, shape);
      rows
        .filter((row) => row.prompt === prompt)
        .forEach((row, position) => {
          for (const name of recorded.columns) {
            (row[name] as number[]).forEach((value, i) => {
              const want = expected.get(name)![position]![i]!;
              worst = Math.max(worst, name.startsWith('sink') ? Math.abs(value - want) / 1e-5 : Math.abs(value - want) / Math.abs(want) / 1e-4);
            });
          }
        });
    }
    assert.ok(worst < 1, `largest difference ${worst} of the tolerance`);
    const counted = rows.filter((row) => !row.excluded && (row.position as number) >= 2);
    assert.equal(recorded.summaries.perHeadTokens?.sink_mass_first_2, counted.length);
    const mean = counted.reduce((sum, row) => sum + (row.sink_mass_first_2 as number[])[3]!, 0) / counted.length;
    assert.ok(Math.abs(recorded.summaries.perHeadMeans.sink_mass_first_2![3]! - mean) < 1e-6, 'the first-k mean is over tokens from position k on');
  });

  it('accepts --shard with --diagnostics: the shard file has its diagnostic columns and summaries (merging them: merge-diagnostics.test.ts)', async () => {
    const outPath = join(dir, 'shard-1-of-2.json');
    const { measurement } = await measure({ ...base, outPath, diagnostics: ['sinks'], shard: { index: 1, count: 2 } }, createSilentReporter());
    assert.deepEqual(measurement.shard, { index: 1, count: 2 });
    const recorded = readDiagnostics(measurement);
    assert.deepEqual(recorded?.columns, ['sink_mass', 'sink_mass_first_4']);
    assert.equal(recorded?.summaries.included, measurement.tokens.measured - measurement.tokens.excluded);
    const rows = await tokenRows(outPath);
    assert.equal(rows.length, measurement.tokens.measured);
    assert.ok(rows.every((row) => (row.sink_mass as number[]).length === 2 * 2));
  });

  it('refuses bad selections with one line naming the value and what is valid, before writing anything', async () => {
    const cases: Array<[Partial<MeasureRequest>, RegExp]> = [
      [{ diagnostics: ['massive'], massiveDims: [16] }, /^--massive-dims 16 is not a dimension of the residual stream of this model; valid: 0…15$/],
      [{ diagnostics: ['cosines'], massiveDims: [1] }, /^--massive-dims 1 needs --diagnostics massive/],
      [{ diagnostics: ['heads'], sinkTokens: 4 }, /^--sink-tokens 4 needs --diagnostics sinks/],
      [{ diagnostics: ['sinks'], sinkTokens: 65 }, /^--sink-tokens 65 is not a number of positions of this model; valid: 1…64 \(its context length\)$/],
      [{ diagnostics: ['sinks'], foldValueBiases: false }, /^--no-fold-value-biases needs --diagnostics heads/],
    ];
    for (const [request, message] of cases) {
      const outPath = join(dir, 'refused.json');
      await assert.rejects(measure({ ...base, outPath, ...request }, createSilentReporter()), (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.match(error.message, message);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
      await assert.rejects(stat(outPath), 'no results file');
      await assert.rejects(stat(`${outPath}.checkpoint`), 'no checkpoint');
    }
  });
});
