/**
 * The submit scripts of slurm/ without a cluster: a stand-in `sbatch` on the PATH records what
 * they submit. Bad variables are refused in one line before anything is submitted; good ones
 * submit the array and the job after it with absolute paths, logs and working folder in OUT,
 * and a dependency on the whole array (afterany). What the jobs then do on a real cluster is
 * test/slurm/on-a-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { CLI } from '../support/run-cli.js';
import { RECIPES } from '../support/slurm-cluster.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const run = promisify(execFile);

interface Submission {
  args: string[];
  env: Record<string, string>;
}

describe('slurm/submit-measure.sh and submit-sweep.sh (a stand-in sbatch)', () => {
  let root: string;
  let bin: string;
  let calls: string;
  let model: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-submit-'));
    bin = join(root, 'bin');
    calls = join(root, 'calls.jsonl');
    await mkdir(bin);
    // Records its arguments and the variables the jobs would see, prints a job id as --parsable does.
    await writeFile(
      join(bin, 'sbatch'),
      `#!/usr/bin/env node\nconst fs = require('fs');\nconst env = Object.fromEntries(['RESID_NORMS', 'MODEL', 'MODELS', 'PROMPTS', 'OUT', 'SHARDS', 'MEASURE_FLAGS', 'SWEEP_FLAGS', 'EVICT'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));\nfs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ args: process.argv.slice(2), env }) + '\\n');\nconsole.log(String(40 + fs.readFileSync(${JSON.stringify(calls)}, 'utf8').split('\\n').length) + ';cluster');\n`,
    );
    await chmod(join(bin, 'sbatch'), 0o755);
    model = (await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 })).dir;
    await writeFile(join(root, 'prompts.txt'), 'one prompt\nanother prompt\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  async function submit(script: string, vars: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string; submitted: Submission[] }> {
    await rm(calls, { force: true });
    const { RESID_NORMS_THREADS: _threads, ...inherited } = process.env;
    const env = { ...inherited, PATH: `${bin}:${process.env.PATH ?? ''}`, RESID_NORMS: CLI, ...vars };
    const result = await run(join(RECIPES, script), [], { env, cwd: root }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
    const text = await readFile(calls, 'utf8').catch(() => '');
    return {
      ...result,
      submitted: text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Submission),
    };
  }

  for (const [what, vars, message] of [
    ['no MODEL', { OUT: 'out' }, /^submit-measure\.sh: MODEL: set the model/],
    ['no OUT', { MODEL: 'gpt2' }, /^submit-measure\.sh: OUT: set the output folder, on a filesystem every node shares/],
    [
      'an OUT inside the checkout',
      { MODEL: 'gpt2', OUT: join(PACKAGE_ROOT, 'results', 'slurm-run') },
      /^submit-measure\.sh: OUT: .*results\/slurm-run is inside the resid-norms checkout \(.*\); choose a folder outside it\n$/,
    ],
    ['SHARDS 0', { MODEL: 'gpt2', OUT: 'out', SHARDS: '0' }, /^submit-measure\.sh: SHARDS: "0" is not a number from 1 to 10000\n$/],
    ['TASKS beyond SHARDS', { MODEL: 'gpt2', OUT: 'out', SHARDS: '3', TASKS: '2,5' }, /^submit-measure\.sh: TASKS: "5" is outside 1-3\n$/],
    ['TASKS not a list', { MODEL: 'gpt2', OUT: 'out', SHARDS: '3', TASKS: 'all' }, /^submit-measure\.sh: TASKS: "all" is not a list like 1-8 or 3,7\n$/],
    [
      'a RESID_NORMS that is not there',
      { MODEL: 'gpt2', OUT: 'out', RESID_NORMS: '/nonexistent/resid-norms' },
      /^submit-measure\.sh: RESID_NORMS: no command "\/nonexistent\/resid-norms"/,
    ],
  ] as const) {
    it(`submit-measure.sh refuses ${what} in one line, submitting nothing`, async () => {
      const result = await submit('submit-measure.sh', vars);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.deepEqual(result.submitted, []);
    });
  }

  it('submit-measure.sh submits the array of shards and a merge after all of it, with absolute paths and everything in OUT', async () => {
    const result = await submit('submit-measure.sh', { MODEL: 'model', PROMPTS: 'prompts.txt', OUT: 'runs/one', SHARDS: '4', MEASURE_FLAGS: '--batch-size 2' });
    assert.equal(result.code, 0, result.stderr);
    const out = join(root, 'runs', 'one');
    const [array, merge] = result.submitted;
    assert.deepEqual(array!.args, [
      '--parsable',
      '--job-name=resid-norms-measure',
      '--array=1-4',
      `--chdir=${out}`,
      `--output=${out}/logs/%x-%A_%a.out`,
      join(RECIPES, 'measure-shard.sbatch'),
    ]);
    assert.deepEqual(array!.env, {
      RESID_NORMS: CLI,
      MODEL: model,
      PROMPTS: join(root, 'prompts.txt'),
      OUT: out,
      SHARDS: '4',
      MEASURE_FLAGS: '--batch-size 2',
    });
    assert.deepEqual(merge!.args, [
      '--parsable',
      '--export=ALL,ARRAY_JOB=42',
      '--job-name=resid-norms-merge',
      '--dependency=afterany:42',
      `--chdir=${out}`,
      `--output=${out}/logs/%x-%j.out`,
      join(RECIPES, 'merge-shards.sbatch'),
    ]);
    assert.equal(
      result.stdout,
      `array job 42: tasks 1-4 of 4 shards of ${model} into ${out}/shards/ (logs in ${out}/logs/)\nmerge job 43: ${out}/results.json once every task has ended\n`,
    );
    const again = await submit('submit-measure.sh', { MODEL: 'gpt2-xl', OUT: 'runs/one', SHARDS: '4', TASKS: '2,4', CPUS_PER_TASK: '8' });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.submitted[0]!.args.includes('--array=2,4') && again.submitted[0]!.args.includes('--cpus-per-task=8'), JSON.stringify(again.submitted[0]));
    assert.equal(again.submitted[0]!.env.MODEL, 'gpt2-xl', 'an alias stays an alias');
  });

  it('submit-sweep.sh writes the plan here, then submits one task per member and the collect after all of them', async () => {
    const other = (await writeTinyGpt2(join(root, 'model-b'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32, seed: 3 })).dir;
    const result = await submit('submit-sweep.sh', {
      MODELS: 'model,model-b',
      PROMPTS: 'prompts.txt',
      OUT: 'sweeps/s',
      SWEEP_FLAGS: '--batch-size 2',
      EVICT: '1',
    });
    assert.equal(result.code, 0, result.stderr);
    const out = join(root, 'sweeps', 's');
    const plan = JSON.parse(await readFile(join(out, 'sweep-plan.json'), 'utf8')) as { members: unknown[] };
    assert.equal(plan.members.length, 2);
    const [array, collect] = result.submitted;
    assert.deepEqual(array!.args, [
      '--parsable',
      '--job-name=resid-norms-sweep',
      '--array=1-2',
      `--chdir=${out}`,
      `--output=${out}/logs/%x-%A_%a.out`,
      join(RECIPES, 'sweep-member.sbatch'),
    ]);
    assert.deepEqual(array!.env, {
      RESID_NORMS: CLI,
      MODELS: `${model},${other}`,
      PROMPTS: join(root, 'prompts.txt'),
      OUT: out,
      SWEEP_FLAGS: '--batch-size 2',
      EVICT: '1',
    });
    assert.deepEqual(collect!.args, [
      '--parsable',
      '--job-name=resid-norms-collect',
      '--dependency=afterany:42',
      `--chdir=${out}`,
      `--output=${out}/logs/%x-%j.out`,
      join(RECIPES, 'sweep-collect.sbatch'),
    ]);
    const refused = await submit('submit-sweep.sh', { MODELS: 'model', PROMPTS: 'prompts.txt', SWEEP_FLAGS: '--batch-size 2', OUT: 'sweeps/s' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /holds another sweep: its members differ/);
    assert.deepEqual(refused.submitted, [], 'a sweep the plan refuses submits nothing');
  });
});
