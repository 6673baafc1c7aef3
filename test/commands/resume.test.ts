import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { mergeShards } from '../../src/commands/merge.js';
import { ExitCode, InterruptedError, ResidNormsError } from '../../src/errors.js';
import { acquireRunLock, currentHolder, processStartTicks } from '../../src/measure/run-lock.js';
import { checkpointFiles } from '../../src/measure/checkpoint.js';
import { loadLayerPools } from '../../src/store/layer-pools.js';
import { readMeasurementFile } from '../../src/store/open-results.js';
import { readMeasured, type MeasuredFile } from '../support/measured.js';
import type { Measurement } from '../../src/results/schema.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { assertSameTables, interruptAfter } from '../support/run-comparison.js';

/** Everything but timings, which differ from run to run, and the tables' file names (each run writes its own). */
function withoutRuntime(measurement: MeasuredFile): string {
  const { runtime: _runtime, tables, ...rest } = measurement;
  return JSON.stringify({ ...rest, rows: [tables.tokens.rows, tables.prompts.rows] });
}

describe('resumable, sharded measurement', () => {
  let dir: string;
  let base: MeasureRequest;
  let reference: MeasuredFile;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-resume-'));
    const tiny = await writeTinyGpt2(join(dir, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 64 });
    const promptsPath = join(dir, 'prompts.txt');
    await writeFile(promptsPath, Array.from({ length: 11 }, (_, i) => `prompt number ${i} ${'word '.repeat(i % 5)}`).join('\n'));
    base = { model: tiny.dir, promptsPath, batchSize: 2, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false };
    await measure({ ...base, outPath: join(dir, 'reference.json') }, createSilentReporter());
    reference = await readMeasured(join(dir, 'reference.json'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('an interrupted run keeps its finished batches, and rerunning resumes to the same results', async () => {
    const outPath = join(dir, 'interrupted.json');
    const controller = new AbortController();
    await assert.rejects(measure({ ...base, outPath, signal: controller.signal }, interruptAfter(2, controller)), (error: unknown) => {
      assert.ok(error instanceof InterruptedError);
      assert.equal(error.exitCode, ExitCode.interrupted);
      assert.match(error.message, /interrupted after 3 of 6 batches; they are saved in .*interrupted\.json\.checkpoint.*run the same command again/);
      return true;
    });
    await assert.rejects(stat(outPath), 'no results file after an interruption');
    const reporter = createSilentReporter();
    await measure({ ...base, outPath }, reporter);
    assert.ok(
      reporter.messages.some((m) => /resuming: 3 of 6 batches are done/.test(m)),
      reporter.messages.join('\n'),
    );
    const resumed = await readMeasured(outPath);
    assert.equal(withoutRuntime(resumed), withoutRuntime(reference));
    await assertSameTables(outPath, join(dir, 'reference.json'));
    assert.equal(resumed.runtime.resumedBatches, 3);
    await assert.rejects(stat(checkpointFiles(outPath).index), 'the checkpoint is removed once the results are written');
    await assert.rejects(stat(checkpointFiles(outPath).norms), 'and its norms');
  });

  it('refuses to mix runs with different options, and --restart discards the old checkpoint', async () => {
    const outPath = join(dir, 'mixed.json');
    const controller = new AbortController();
    await assert.rejects(measure({ ...base, outPath, signal: controller.signal }, interruptAfter(1, controller)), InterruptedError);
    await assert.rejects(measure({ ...base, outPath, maxTokens: 5 }, createSilentReporter()), (error: unknown) => {
      assert.ok(error instanceof ResidNormsError);
      assert.match(error.message, /belongs to a different run \(maxTokens was 64, now 5\); rerun with --restart/);
      return true;
    });
    await measure({ ...base, outPath, maxTokens: 5, restart: true }, createSilentReporter());
    assert.ok((await readMeasured(outPath)).sequences.every((s) => s.ids.length <= 5));
  });

  it('ignores a line torn by a kill and redoes that batch', async () => {
    const outPath = join(dir, 'torn.json');
    const controller = new AbortController();
    await assert.rejects(measure({ ...base, outPath, signal: controller.signal }, interruptAfter(1, controller)), InterruptedError);
    await appendFile(checkpointFiles(outPath).index, '{"position": 4, "indices": [1, 2], "offs');
    await appendFile(checkpointFiles(outPath).norms, Buffer.alloc(100, 7)); // norms of a batch whose line never completed
    await measure({ ...base, outPath }, createSilentReporter());
    assert.equal(withoutRuntime(await readMeasured(outPath)), withoutRuntime(reference));
    await assertSameTables(outPath, join(dir, 'reference.json'));
  });

  it('shards merge into exactly the unsharded results', async () => {
    const paths = [1, 2, 3].map((index) => join(dir, `shard-${index}.json`));
    for (const [i, path] of paths.entries()) {
      await measure({ ...base, outPath: path, shard: { index: i + 1, count: 3 } }, createSilentReporter());
    }
    const shard2 = await readMeasured(paths[1]!);
    assert.deepEqual(shard2.shard, { index: 2, count: 3 });
    assert.ok(shard2.sequences.length > 0 && shard2.sequences.length < reference.sequences.length);
    const merged = await mergeShards([paths[2]!, paths[0]!, paths[1]!], join(dir, 'merged.json'));
    assert.equal(withoutRuntime(await readMeasured(join(dir, 'merged.json'))), withoutRuntime(reference));
    await assertSameTables(join(dir, 'merged.json'), join(dir, 'reference.json'));
    assert.equal(merged.runtime.tokens, reference.runtime.tokens);
    // A merge takes <out>.lock as measure does: not while another process writes that --out.
    const release = acquireRunLock(`${join(dir, 'merged.json')}.lock`);
    try {
      await assert.rejects(
        mergeShards(paths, join(dir, 'merged.json')),
        /another resid-norms process \(pid \d+ on host .*measure, since .*\) is measuring into the same --out/,
      );
    } finally {
      release();
    }
    await assert.rejects(stat(`${join(dir, 'merged.json')}.lock`), 'a merge releases its lock');
  });

  it('refuses a second process on the same --out, and a checkpoint line that does not fit the run', async () => {
    const outPath = join(dir, 'locked.json');
    const files = checkpointFiles(outPath);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await new Promise((resolve) => holder.once('spawn', resolve));
      // The lock a run in that process would have written (its pid and start time): a live holder.
      await writeFile(files.lock, JSON.stringify({ ...currentHolder(), pid: holder.pid, startTicks: processStartTicks(holder.pid!) }));
      await assert.rejects(
        measure({ ...base, outPath }, createSilentReporter()),
        /another resid-norms process \(pid \d+ on host .*\) is measuring into the same --out/,
      );
    } finally {
      holder.kill();
      await rm(files.lock, { force: true });
    }
    const controller = new AbortController();
    await assert.rejects(measure({ ...base, outPath, signal: controller.signal }, interruptAfter(1, controller)), InterruptedError);
    const lines = (await readFile(files.index, 'utf8')).split('\n');
    const batch = JSON.parse(lines[1]!) as { indices: number[] };
    const tampered = { ...batch, indices: batch.indices.map((index) => index + 1) }; // other prompts, the same norms (their checksum still holds)
    await writeFile(files.index, [lines[0], JSON.stringify(tampered), ...lines.slice(2)].join('\n'));
    await assert.rejects(measure({ ...base, outPath }, createSilentReporter()), /holds batches this run would not make; rerun with --restart/);
    await measure({ ...base, outPath, restart: true }, createSilentReporter());
    assert.equal(withoutRuntime(await readMeasured(outPath)), withoutRuntime(reference));
  });

  it('measures again the batches of a damaged .bin (zeros, NaN or a huge value written in), from the first damaged one on', async () => {
    for (const [name, damage] of [
      ['zeros', (values: Float32Array) => values.fill(0)],
      ['nan', (values: Float32Array) => void (values[values.length >> 1] = Number.NaN)],
      ['huge', (values: Float32Array) => void (values[3] = 3e38)],
    ] as const) {
      const outPath = join(dir, `damaged-${name}.json`);
      const files = checkpointFiles(outPath);
      const controller = new AbortController();
      await assert.rejects(measure({ ...base, outPath, signal: controller.signal }, interruptAfter(2, controller)), InterruptedError);
      const bytes = await readFile(files.norms);
      damage(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
      await writeFile(files.norms, bytes);
      const reporter = createSilentReporter();
      await measure({ ...base, outPath }, reporter);
      assert.ok(
        reporter.warnings.some((warning) => /was damaged after \d+ batches \(their norms no longer match the checksums recorded with them\)/.test(warning)),
        reporter.warnings.join('\n'),
      );
      assert.equal(withoutRuntime(await readMeasured(outPath)), withoutRuntime(reference), `${name}: the same results as an undamaged run`);
    }
  });

  it('refuses a checkpoint of another format or version, and --restart discards it', async () => {
    const outPath = join(dir, 'foreign-checkpoint.json');
    await writeFile(checkpointFiles(outPath).index, '{"format":"resid-norms/checkpoint","version":2,"key":{}}\n{"position":0}\n');
    await assert.rejects(
      measure({ ...base, outPath }, createSilentReporter()),
      /foreign-checkpoint\.json\.checkpoint" is not a checkpoint of this resid-norms version; rerun with --restart/,
    );
    await measure({ ...base, outPath, restart: true }, createSilentReporter());
    assert.equal(withoutRuntime(await readMeasured(outPath)), withoutRuntime(reference));
  });

  it('shards without a batch are written, read and merged like the others', async () => {
    const paths = Array.from({ length: 8 }, (_, i) => join(dir, `many-${i + 1}.json`)); // 6 batches, 8 shards
    for (const [i, path] of paths.entries()) await measure({ ...base, outPath: path, shard: { index: i + 1, count: 8 } }, createSilentReporter());
    const empty = await readMeasured(paths[7]!);
    assert.deepEqual([empty.tables.tokens.rows, empty.tables.prompts.rows, empty.summary.resid_pre![0]!.count], [0, 0, 0]);
    assert.ok(Number.isNaN(empty.summary.resid_pre![0]!.mean), 'a statistic of no tokens reads back as NaN');
    await mergeShards(paths, join(dir, 'many.json'));
    assert.equal(withoutRuntime(await readMeasured(join(dir, 'many.json'))), withoutRuntime(reference));
  });

  it('a run whose every token is excluded is written and read back, its statistics NaN', async () => {
    const outPath = join(dir, 'bos-only.json');
    await measure({ ...base, outPath, maxTokens: 1 }, createSilentReporter());
    const result = await readMeasured(outPath);
    assert.equal(result.tokens.excluded, result.tokens.measured);
    assert.equal(result.summary.resid_pre![0]!.count, 0);
    assert.ok(Number.isNaN(result.summaries.raw.resid_post![1]!.median));
    const pools = await loadLayerPools(await (await readMeasurementFile(outPath)).tokens(), 'resid_pre', 'centered', [0, 1], 'median');
    assert.deepEqual(
      pools.map((pool) => pool.sortedValues.length),
      [0, 0],
    );
  });

  it('refuses incomplete, repeated or foreign shard sets', async () => {
    const paths = [1, 2].map((index) => join(dir, `pair-${index}.json`));
    for (const [i, path] of paths.entries()) await measure({ ...base, outPath: path, shard: { index: i + 1, count: 2 } }, createSilentReporter());
    const out = join(dir, 'bad-merge.json');
    await assert.rejects(mergeShards([paths[0]!], out), /shard 2\/2 missing; all 2 are needed/);
    await assert.rejects(mergeShards([paths[0]!, paths[0]!], out), /are both shard 1\/2/);
    await assert.rejects(mergeShards([paths[0]!, join(dir, 'reference.json')], out), /is not a shard file/);
    const foreign = JSON.parse(await readFile(paths[1]!, 'utf8')) as Measurement;
    foreign.prompts.sha256 = 'f'.repeat(64);
    await writeFile(join(dir, 'foreign.json'), JSON.stringify(foreign));
    await assert.rejects(mergeShards([paths[0]!, join(dir, 'foreign.json')], out), /differ in prompts; shards must come from one run/);
    await assert.rejects(stat(out), 'no merged file after a refusal');
  });
});
