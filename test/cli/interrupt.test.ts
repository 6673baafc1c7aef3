import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { checkpointFiles } from '../../src/measure/checkpoint.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { readMeasured, type MeasuredFile } from '../support/measured.js';
import { CLI, runCli } from '../support/run-cli.js';
import { assertSameTables } from '../support/run-comparison.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

/** Everything but the run's timing and the tables' file names (each run writes its own). */
const withoutRuntime = ({ runtime: _runtime, tables, ...rest }: MeasuredFile) => JSON.stringify({ ...rest, rows: [tables.tokens.rows, tables.prompts.rows] });

async function checkpointLines(path: string): Promise<number> {
  return readFile(path, 'utf8').then(
    (text) => text.split('\n').length - 1,
    () => 0,
  );
}

/** Start `measure`, wait until the checkpoint holds `batches` finished batches, then signal it. */
async function startAndSignal(
  args: string[],
  checkpoint: string,
  batches: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  for (let waited = 0; (await checkpointLines(checkpoint)) < 1 + batches; waited += 5) {
    if (waited > 60_000) throw new Error('measure made no progress');
    if (child.exitCode !== null) throw new Error(`measure ended before it could be interrupted:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  child.kill(signal);
  return { ...(await exited), stderr };
}

describe('interrupting measure', () => {
  let dir: string;
  let args: (out: string) => string[];
  let reference: MeasuredFile;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-interrupt-'));
    // 60 batches of one prompt: the run lasts long past the first checkpointed batches (each
    // batch is synced to disk), so the signal comes in the middle of it.
    const model = (await writeTinyGpt2(join(dir, 'model'), { nLayers: 4, dModel: 96, nHeads: 4, nCtx: 256 })).dir;
    const prompts = join(dir, 'prompts.txt');
    await writeFile(prompts, Array.from({ length: 60 }, (_, i) => `prompt ${i}: ${'lorem ipsum dolor sit amet '.repeat(2 + (i % 2))}`).join('\n'));
    args = (out) => ['measure', '--model', model, '--prompts', prompts, '--out', out, '--batch-size', '1', '--threads', '1'];
    const result = await runCli(args(join(dir, 'reference.json')));
    assert.equal(result.code, 0, result.stderr);
    reference = await readMeasured(join(dir, 'reference.json'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('after SIGKILL, rerunning the same command resumes and gives the results of an uninterrupted run', async () => {
    const out = join(dir, 'killed.json');
    const killed = await startAndSignal(args(out), checkpointFiles(out).index, 3, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    await assert.rejects(stat(out), 'a killed run leaves no results file');
    await assert.rejects(stat(tablePaths(out).tokens), 'and no tokens table under its final name');
    const saved = await checkpointLines(checkpointFiles(out).index);
    assert.ok(saved >= 4 && saved < 61, `checkpoint holds ${saved - 1} batches`);
    const rerun = await runCli(args(out));
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /resuming: \d+ of 60 batches are done/);
    assert.equal(withoutRuntime(await readMeasured(out)), withoutRuntime(reference));
    await assertSameTables(out, join(dir, 'reference.json'));
    await assert.rejects(stat(checkpointFiles(out).lock), 'the lock of the killed run was taken over and released');
  });

  it('SIGINT finishes the batch in flight, exits 130 with a resumable checkpoint', async () => {
    const out = join(dir, 'interrupted.json');
    const interrupted = await startAndSignal(args(out), checkpointFiles(out).index, 2, 'SIGINT');
    assert.equal(interrupted.code, ExitCode.interrupted, interrupted.stderr);
    assert.match(interrupted.stderr, /SIGINT: finishing the current batch/);
    assert.match(interrupted.stderr, /resid-norms: interrupted after \d+ of 60 batches; they are saved in .*run the same command again to resume/);
    await assert.rejects(stat(out));
    const rerun = await runCli(args(out));
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(withoutRuntime(await readMeasured(out)), withoutRuntime(reference));
  });
});
