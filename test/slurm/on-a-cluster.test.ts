/**
 * The shipped recipes (slurm/), submitted verbatim to a real one-node Slurm cluster (Debian's
 * slurm-wlm and munge; scripts/slurm-test-cluster.sh):
 * - submit-measure.sh: the array of shards and the merge equal one run byte for byte, through a
 *   task requeued mid-run (what a preemption does) and one cancelled with scancel mid-run and
 *   requeued, each keeping the batch it had in flight; each task runs the one thread it was given;
 * - a second array writing the same OUT while the first runs is refused by the lock, and its
 *   merge names the shards it misses;
 * - submit-sweep.sh: --prepare, the --member array with --evict against the fake Hub (the tasks
 *   share one cache) and --collect equal a sweep in one process.
 * The three run side by side (their waits are mostly the scheduler's); every wait is polled.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readMeasurement } from '../../src/results/read-measurement.js';
import { FakeHub, fakeSha, snapshotFromFolder } from '../support/fake-hub.js';
import { readMeasured, type MeasuredFile } from '../support/measured.js';
import { CLI, runCli } from '../support/run-cli.js';
import { assertSameTables } from '../support/run-comparison.js';
import { RECIPES, SlurmCluster } from '../support/slurm-cluster.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

/** One-prompt batches per shard, each synced: long enough for a signal to land mid-run. */
const BATCHES = 40;
const REPO = 'test-org/tiny';
const REVISIONS = ['step0', 'step1', 'step2'];

const withoutRuntime = ({ runtime: _runtime, tables, ...rest }: MeasuredFile) => JSON.stringify({ ...rest, rows: [tables.tokens.rows, tables.prompts.rows] });

async function lines(path: string): Promise<number> {
  return readFile(path, 'utf8').then(
    (text) => text.split('\n').length - 1,
    () => 0,
  );
}

/** Poll (every 10 ms, at most 90 s) until the checkpoint holds `batches` finished batches. */
async function waitForBatches(checkpoint: string, batches: number): Promise<number> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const held = (await lines(checkpoint)) - 1;
    if (held >= batches) return held;
    if (Date.now() > deadline) throw new Error(`${checkpoint} holds ${held} batches after 90 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the Slurm recipes (slurm/) on a real Slurm cluster', { concurrency: true }, () => {
  let cluster: SlurmCluster | undefined;
  let skip: string | undefined;
  let root: string;
  let measureVars: NodeJS.ProcessEnv;
  let reference: string;
  let hub: FakeHub;

  before(async () => {
    const started = await SlurmCluster.start();
    if (typeof started === 'string') skip = started;
    else cluster = started;
    root = await mkdtemp(join(tmpdir(), 'rn-slurm-'));
    hub = new FakeHub();
    if (!cluster) return;
    const model = (await writeTinyGpt2(join(root, 'model'), { nLayers: 6, dModel: 128, nHeads: 4, nCtx: 128 })).dir;
    const prompts = join(root, 'prompts.txt');
    await writeFile(prompts, Array.from({ length: 3 * BATCHES }, (_, i) => `prompt ${i}: ${'lorem ipsum dolor sit amet '.repeat(3 + (i % 2))}`).join('\n'));
    measureVars = { MODEL: model, PROMPTS: prompts, MEASURE_FLAGS: '--batch-size 1', RESID_NORMS: CLI };
    reference = join(root, 'reference.json');
    const result = await runCli(['measure', '--model', model, '--prompts', prompts, '--batch-size', '1', '--threads', '1', '--out', reference]);
    assert.equal(result.code, 0, result.stderr);
  });
  after(async () => {
    await cluster?.stop();
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** Run a shipped submit script from an empty folder (which stays empty); the two job ids it printed. */
  async function submit(script: string, vars: NodeJS.ProcessEnv): Promise<{ array: string; after: string }> {
    const cwd = await mkdtemp(join(root, 'cwd-'));
    const printed = await cluster!.slurm(join(RECIPES, script), [], vars, cwd);
    assert.deepEqual(await readdir(cwd), [], 'nothing is written where the script was run');
    const array = /^array job (\d+): /m.exec(printed)?.[1];
    const next = /^(?:merge|collect) job (\d+): /m.exec(printed)?.[1];
    assert.ok(array && next, printed);
    return { array, after: next };
  }

  const shardFile = (out: string, index: number, count: number) => join(out, 'shards', `shard-${index}-of-${count}.json`);
  const log = (out: string, name: string) => readFile(join(out, 'logs', `${name}.out`), 'utf8');

  it('submit-measure.sh: the merged array equals one run byte for byte, through a task requeued mid-run and one cancelled mid-run and requeued, each keeping its batch in flight', async (t) => {
    if (skip) return t.skip(skip);
    const out = join(root, 'array');
    const { array, after: merge } = await submit('submit-measure.sh', { ...measureVars, OUT: out, SHARDS: '3' });

    /**
     * Stop task `index` once two of its batches are done, then hold it in the queue (requeued by
     * hand if it was cancelled): the array cannot end, and the merge run, before both are
     * requeued, however slowly the other task comes to its second batch. The batches saved.
     */
    const stopMidRun = async (index: number, stop: string[], stopped: string) => {
      const task = `${array}_${index}`;
      const checkpoint = `${shardFile(out, index, 3)}.checkpoint`;
      const before = await waitForBatches(checkpoint, 2);
      await cluster!.slurm(stop[0]!, [...stop.slice(1), task]);
      await cluster!.waitFor(task, ([job]) => job?.state === stopped, `become ${stopped}`);
      // The cancelled task requeued by hand; a requeued task waits out AuthInfo's cred_expire (5 s here) first.
      if (stopped === 'CANCELLED') await cluster!.slurm('scontrol', ['requeue', task]);
      await cluster!.slurm('scontrol', ['hold', task]);
      const text = await log(out, `resid-norms-measure-${array}_${index}`);
      assert.match(text, /SIGTERM: finishing the current batch, then stopping/);
      const saved = Number(new RegExp(`interrupted after (\\d+) of ${BATCHES} batches; they are saved`).exec(text)?.[1]);
      // The batch in flight when the signal came was finished, and its line is in the checkpoint.
      assert.ok(saved > before, `${saved} batches saved; ${before} were done before the signal`);
      assert.equal((await lines(checkpoint)) - 1, saved);
      return saved;
    };
    const [requeued, cancelled] = await Promise.all([
      // scontrol requeue of a running task: SIGTERM, then back in the queue, as a preemption does.
      stopMidRun(2, ['scontrol', 'requeue'], 'PENDING'),
      stopMidRun(3, ['scancel'], 'CANCELLED'),
    ]);
    // Both back in the queue: the merge (afterany) waits for them. They start once cred_expire
    // (5 s here) has passed since their requeue: StartTime=now, which skips that wait, sometimes
    // made the task requeued while running fail to launch (FAILED, nothing in its log) under load.
    for (const index of [2, 3]) await cluster!.slurm('scontrol', ['release', `${array}_${index}`]);

    const [merged] = await cluster!.waitForEnd(merge);
    // On a failure, the task logs say why (the temp folder is gone afterwards).
    const taskLogs = async () => (await Promise.all([1, 2, 3].map((index) => log(out, `resid-norms-measure-${array}_${index}`).catch(String)))).join('\n---\n');
    if (merged!.state !== 'COMPLETED')
      assert.fail(`merge ${merged!.state}: ${await log(out, `resid-norms-merge-${merge}`).catch(String)}\n${await taskLogs()}`);
    const tasks = (await cluster!.jobs(array)).map(({ task, state, restarts }) => [Number(task), state, restarts]).sort((a, b) => Number(a[0]) - Number(b[0]));
    assert.deepEqual(tasks, [
      [1, 'COMPLETED', 0],
      [2, 'COMPLETED', 1],
      [3, 'COMPLETED', 1],
    ]);
    assert.match(await log(out, `resid-norms-measure-${array}_2`), new RegExp(`restart 1\\)\\n(.*\\n)*resuming: ${requeued} of ${BATCHES} batches are done`));
    assert.match(await log(out, `resid-norms-measure-${array}_3`), new RegExp(`restart 1\\)\\n(.*\\n)*resuming: ${cancelled} of ${BATCHES} batches are done`));

    const results = join(out, 'results.json');
    assert.equal(withoutRuntime(await readMeasured(results)), withoutRuntime(await readMeasured(reference)));
    await assertSameTables(results, reference);
    // One thread per task: the one CPU Slurm gave it (SLURM_CPUS_ON_NODE=1), not one per core.
    assert.equal((await readMeasurement(shardFile(out, 1, 3))).runtime.threads, 1);
    assert.deepEqual(
      (await readdir(join(out, 'shards'))).filter((name) => /checkpoint|lock/.test(name)),
      [],
      'no checkpoint or lock left',
    );
  });

  it('submit-measure.sh: a second array writing the same OUT while the first runs is refused by the lock; its merge names the missing shards', async (t) => {
    if (skip) return t.skip(skip);
    const vars = { ...measureVars, OUT: join(root, 'two-arrays'), SHARDS: '2' };
    const out = vars.OUT;
    const first = await submit('submit-measure.sh', vars);
    await Promise.all([1, 2].map((index) => waitForBatches(`${shardFile(out, index, 2)}.checkpoint`, 1)));
    // Stopped, not ended: the first array's tasks hold their locks while the second one runs.
    for (const index of [1, 2]) await cluster!.slurm('scontrol', ['suspend', `${first.array}_${index}`]);
    try {
      const second = await submit('submit-measure.sh', vars);
      const refused = await cluster!.waitForEnd(second.array);
      assert.deepEqual(
        refused.map((task) => [task.state, task.exitCode]),
        [
          ['FAILED', '2:0'],
          ['FAILED', '2:0'],
        ],
      );
      for (const index of [1, 2]) {
        assert.match(
          await log(out, `resid-norms-measure-${second.array}_${index}`),
          new RegExp(
            `resid-norms: another resid-norms process \\(pid \\d+ on host \\S+ \\(Slurm job \\d+, measure, since [^)]+\\)\\) is measuring into the same --out \\(".*shard-${index}-of-2\\.json\\.lock"\\); wait for it, or choose another --out\\n`,
          ),
        );
      }
      const [merge] = await cluster!.waitForEnd(second.after);
      assert.deepEqual([merge!.state, merge!.exitCode], ['FAILED', '1:0']);
      assert.match(
        await log(out, `resid-norms-merge-${second.after}`),
        new RegExp(
          `^merge: shard\\(s\\) 1,2 of 2 are missing in .*/shards: their tasks did not finish \\(see .*/logs/resid-norms-measure-${second.array}_<i>\\.out\\)\\.\\nmerge: submit them again with the same variables and TASKS=1,2 \\(they resume from their checkpoints\\); a new merge follows them\\.\\n$`,
        ),
      );
    } finally {
      for (const index of [1, 2]) await cluster!.slurm('scontrol', ['resume', `${first.array}_${index}`]);
    }
    const [merged] = await cluster!.waitForEnd(first.after);
    assert.equal(merged!.state, 'COMPLETED');
    assert.equal(withoutRuntime(await readMeasured(join(out, 'results.json'))), withoutRuntime(await readMeasured(reference)));
    await assertSameTables(join(out, 'results.json'), reference);
  });

  it('submit-sweep.sh: --prepare, a --member array evicting from one shared cache and --collect equal a sweep in one process', async (t) => {
    if (skip) return t.skip(skip);
    const revisions: Record<string, { sha: string; files: Map<string, Buffer> }> = {};
    for (const [index, revision] of REVISIONS.entries()) {
      const tiny = await writeTinyGpt2(join(root, 'hub-models', revision), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32, seed: 40 + index });
      revisions[revision] = await snapshotFromFolder(tiny.dir, fakeSha(revision));
    }
    hub.repos.set(REPO, { sha: fakeSha('main'), files: revisions.step0!.files, revisions });
    await hub.start();
    const prompts = join(root, 'sweep-prompts.txt');
    await writeFile(prompts, Array.from({ length: 12 }, (_, i) => `prompt ${i} ${'word '.repeat(i % 5)}`).join('\n'));
    const flags = ['--batch-size', '2'];
    const hubEnv = { HF_ENDPOINT: hub.url, RESID_NORMS_HUB_RETRY_MS: '5' };

    const out = join(root, 'sweep');
    const cache = join(root, 'shared-cache');
    const { array, after: collect } = await submit('submit-sweep.sh', {
      ...hubEnv,
      HF_HUB_CACHE: cache,
      MODELS: REPO,
      REVISIONS: REVISIONS.join(','),
      PROMPTS: prompts,
      SWEEP_FLAGS: flags.join(' '),
      EVICT: '1',
      COLLECT_FLAGS: '--bootstrap 20',
      OUT: out,
      RESID_NORMS: CLI,
    });
    const [collected] = await cluster!.waitForEnd(collect);
    assert.equal(collected!.state, 'COMPLETED', await log(out, `resid-norms-collect-${collect}`).catch(String));
    const tasks = await cluster!.jobs(array);
    assert.deepEqual(
      tasks.map((task) => task.state),
      ['COMPLETED', 'COMPLETED', 'COMPLETED'],
    );
    const snapshots = await readdir(join(cache, 'models--test-org--tiny', 'snapshots')).catch(() => []);
    assert.deepEqual(snapshots, [], 'every member evicted its snapshot from the shared cache');

    const single = join(root, 'sweep-one-process');
    const result = await runCli(
      ['sweep', '--model', REPO, '--revisions', REVISIONS.join(','), '--prompts', prompts, ...flags, '--bootstrap', '20', '--threads', '1', '-o', single],
      {
        env: { ...hubEnv, HF_HUB_CACHE: join(root, 'own-cache') },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(await readFile(join(out, 'sweep.json'), 'utf8')), JSON.parse(await readFile(join(single, 'sweep.json'), 'utf8')));
    for (const revision of REVISIONS) {
      const member = join('members', `test-org--tiny-${revision}.json`);
      assert.equal(withoutRuntime(await readMeasured(join(out, member))), withoutRuntime(await readMeasured(join(single, member))));
      await assertSameTables(join(out, member), join(single, member));
    }
    assert.deepEqual((await readdir(join(out, 'figures'))).sort(), (await readdir(join(single, 'figures'))).sort());
  });
});
