import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { readMeasurement } from '../../src/results/read-measurement.js';
import { FakeHub } from '../support/fake-hub.js';
import { CLI, runCli } from '../support/run-cli.js';
import { ONNX_RUNTIME_DIR } from '../../src/runtime/onnxruntime.js';
import { encodeSafetensors } from '../support/safetensors-writer.js';
import { tinyGpt2Weights, writeTinyGpt2 } from '../support/tiny-gpt2.js';

function cudaInstalled(): boolean {
  const binaries = join(ONNX_RUNTIME_DIR!, 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binaries, 'libonnxruntime_providers_cuda.so'));
}

describe('resid-norms measure, end to end', () => {
  let root: string;
  let model: string;
  let prompts: string;
  let hub: FakeHub;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-cli-'));
    model = (await writeTinyGpt2(join(root, 'tiny-model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32 })).dir;
    prompts = join(root, 'prompts.txt');
    await writeFile(prompts, 'Hello there\nSecond prompt\n');
    hub = new FakeHub();
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('writes the results file and prints the growth table', async () => {
    const out = join(root, 'out', 'r.json');
    // In this process: test/scripts/action.test.ts runs the installed command (bin/resid-norms.js) end to end.
    const result = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, '--batch-size', '2']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /resid_post: mean centered norm over \d+ tokens \(\d+ excluded: position 0 \d+, special tokens \(<\|endoftext\|>\) 0\)\nlayer +mean norm +ratio\n +0 /,
    );
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 2 + 3 + 2, result.stdout);
    assert.match(lines[5]!, /^fitted growth of resid_post, layers 0–2: ×\d\.\d{4} per layer \(95% CI \d\.\d{4}–\d\.\d{4}, bootstrap over prompts; R² /);
    // Three layers of a random tiny model: block 0 jumps, so one exponential does not describe them.
    assert.match(lines[6]!, /^note: not one exponential \(R² 0\.\d{4} < 0\.95\): see `resid-norms fit` with --layers or --segments$/);
    assert.match(result.stderr, /wrote .*r\.json and its tables \(2 prompts, \d+ tokens/);
    const measurement = await readMeasurement(out);
    assert.equal(measurement.model.id, 'tiny-model');
  });

  it('takes the default of --threads from RESID_NORMS_THREADS, checked like the flag; the flag wins', async () => {
    const out = join(root, 'threads', 'r.json');
    const fromEnv = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out], { env: { RESID_NORMS_THREADS: '1' } });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal((await readMeasurement(out)).runtime.threads, 1);
    const flag = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, '--threads', '2'], { env: { RESID_NORMS_THREADS: '1' } });
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal((await readMeasurement(out)).runtime.threads, 2);
    for (const value of ['many', '0', '100000']) {
      const bad = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out], { env: { RESID_NORMS_THREADS: value } });
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, new RegExp(`^resid-norms: RESID_NORMS_THREADS "${value}" is not a number of threads; valid: 1…\\d+\n$`));
    }
  });

  it('without --threads or RESID_NORMS_THREADS, runs as many threads as the Slurm allocation or the CPU affinity allows', async () => {
    const out = join(root, 'allocated', 'r.json');
    // A Slurm task given one CPU on a node that binds nothing (task/none): SLURM_CPUS_ON_NODE=1.
    const slurm = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out], {
      env: { RESID_NORMS_THREADS: '', SLURM_JOB_ID: '1', SLURM_CPUS_ON_NODE: '1' },
    });
    assert.equal(slurm.code, 0, slurm.stderr);
    assert.equal((await readMeasurement(out)).runtime.threads, 1);
    const perTask = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out], {
      env: { RESID_NORMS_THREADS: '', SLURM_CPUS_PER_TASK: '2' },
    });
    assert.equal(perTask.code, 0, perTask.stderr);
    assert.equal((await readMeasurement(out)).runtime.threads, Math.min(2, availableParallelism()));
    const variable = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out], {
      env: { RESID_NORMS_THREADS: '2', SLURM_CPUS_PER_TASK: '1' },
    });
    assert.equal(variable.code, 0, variable.stderr);
    assert.equal((await readMeasurement(out)).runtime.threads, 2, 'RESID_NORMS_THREADS wins over the allocation');
    // The affinity is the process's own: a process started on one CPU (taskset, as Slurm's task/affinity binds).
    const { RESID_NORMS_THREADS: _threads, ...inherited } = process.env;
    const pinned = spawnSync('taskset', ['--cpu-list', '0', process.execPath, CLI, 'measure', '--model', model, '--prompts', prompts, '--out', out], {
      env: inherited,
      encoding: 'utf8',
    });
    if (pinned.error) return; // no taskset (util-linux) here; the Slurm cases above still ran
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.equal((await readMeasurement(out)).runtime.threads, 1);
  });

  it('refuses an --out whose lock another host holds, in one line with whose it is; --take-over-lock takes it over', async () => {
    const out = join(root, 'locked', 'r.json');
    await mkdir(dirname(out), { recursive: true });
    const holder = {
      format: 'resid-norms/lock',
      host: 'node-elsewhere',
      pid: 77,
      startTicks: 5,
      bootId: null,
      pidNamespace: null,
      slurmJob: 'hpc:4711',
      slurmRestarts: 0,
      command: 'measure',
      since: '2026-12-01T10:00:00.000Z',
    };
    await writeFile(`${out}.lock`, JSON.stringify(holder));
    const refused = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^resid-norms: ".*r\.json\.lock" is held by pid 77 on host node-elsewhere \(Slurm job 4711, measure, since 2026-12-01T10:00:00\.000Z\), which cannot be checked from this host \(.+\): if that process is gone, rerun with --take-over-lock \(or delete the file\); otherwise wait for it, or choose another --out\n$/,
    );
    assert.equal(existsSync(out), false);
    const taken = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, '--take-over-lock']);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stderr, /--take-over-lock: taking over .*r\.json\.lock from pid 77 on host node-elsewhere/);
    assert.equal(existsSync(`${out}.lock`), false, 'released at the end');
  });

  it('writes results/<model>.json in the working folder by default, and --quiet silences stderr', async () => {
    const cwd = join(root, 'cwd');
    await mkdir(cwd);
    const result = await runCli(['--quiet', 'measure', '--model', model, '--prompts', prompts], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.deepEqual(await readdir(join(cwd, 'results')), ['tiny-model.json', 'tiny-model.prompts.parquet', 'tiny-model.tokens.parquet']);
  });

  // Every bad input: exit code, one line naming the problem, no stack trace, no output file.
  const badModel = async (name: string, change: (dir: string) => Promise<void>): Promise<string> => {
    const dir = join(root, name);
    await cp(model, dir, { recursive: true });
    await change(dir);
    return dir;
  };
  const cases: Array<{ name: string; args: () => Promise<string[]>; code: number; message: RegExp; env?: () => NodeJS.ProcessEnv; skip?: string }> = [
    { name: 'unknown alias', args: async () => ['--model', 'gpt2-xxl'], code: ExitCode.usage, message: /unknown model "gpt2-xxl"; did you mean gpt2-xl/ },
    { name: 'missing folder', args: async () => ['--model', './no/such/folder'], code: ExitCode.usage, message: /"\.\/no\/such\/folder": no such folder/ },
    {
      name: 'repo not found',
      args: async () => ['--model', 'nobody/nothing'],
      env: () => ({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(root, 'hub-cache') }),
      code: ExitCode.badModel,
      message: /model repo "nobody\/nothing" \(revision "main"\) not found/,
    },
    {
      name: 'offline with no cache',
      args: async () => ['--model', 'gpt2'],
      env: () => ({ HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(root, 'empty-cache') }),
      code: ExitCode.network,
      message: /HF_HUB_OFFLINE is set and "openai-community\/gpt2@main" is not complete in the cache/,
    },
    {
      name: 'missing weights',
      args: async () => ['--model', await badModel('no-weights', (dir) => rm(join(dir, 'model.safetensors')))],
      code: ExitCode.badModel,
      message: /has no weights to read: expected model\.safetensors \(or model\.safetensors\.index\.json \+ shards\) or pytorch_model\.bin/,
    },
    {
      name: 'corrupt safetensors',
      args: async () => [
        '--model',
        await badModel('corrupt', (dir) => writeFile(join(dir, 'model.safetensors'), Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, 123, 120, 121, 125]))),
      ],
      code: ExitCode.badModel,
      message: /corrupt safetensors file .*header is not valid JSON/,
    },
    {
      name: 'unsupported architecture',
      args: async () => [
        '--model',
        await badModel('bert', (dir) => writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertModel'] }))),
      ],
      code: ExitCode.badModel,
      message: /model_type "bert" is not supported; supported model types: gpt2/,
    },
    {
      name: 'config with impossible sizes',
      args: async () => [
        '--model',
        await badModel('bad-config', (dir) =>
          writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: -4, n_head: 3, n_layer: 1e12, vocab_size: 257, n_positions: 32 })),
        ),
      ],
      code: ExitCode.badModel,
      message: /invalid .*config\.json.*n_embd is -4; expected a positive integer.*n_layer is 1000000000000/,
    },
    {
      name: 'empty prompt file',
      args: async () => ['--prompts', await file('empty.txt', '# nothing\n\n')],
      code: ExitCode.badInput,
      message: /has no prompts/,
    },
    {
      name: 'prompt of only special tokens',
      args: async () => ['--prompts', await file('special.txt', 'fine prompt\n<|endoftext|>\n')],
      code: ExitCode.badInput,
      message: /prompt 2 \(line 2\) "<\|endoftext\|>" has no ordinary tokens/,
    },
    {
      name: 'token id outside the vocabulary',
      args: async () => ['--prompts', await file('ids.jsonl', '{"ids": [1, 999]}\n')],
      code: ExitCode.badInput,
      message: /token id 999; valid ids are 0…256/,
    },
    {
      name: 'too many tokens',
      args: async () => ['--max-tokens', '33'],
      code: ExitCode.usage,
      message: /--max-tokens 33 exceeds the context length of .* \(32\); valid: 1…32/,
    },
    { name: 'unknown hook', args: async () => ['--hooks', 'resid_pre,resid_moo'], code: ExitCode.usage, message: /unknown hook "resid_moo"; valid: resid_pre/ },
    { name: 'zero batch size', args: async () => ['--batch-size', '0'], code: ExitCode.usage, message: /expected a whole number from 1 to 4096, got "0"/ },
    {
      name: 'negative --append-eos',
      args: async () => ['--append-eos', '-1'],
      code: ExitCode.usage,
      message: /--append-eos.*expected a whole number from 0 to 16777216, got "-1"/,
    },
    { name: 'unknown device', args: async () => ['--device', 'tpu'], code: ExitCode.usage, message: /expected one of cpu, cuda, got "tpu"/ },
    {
      name: 'CUDA when its execution provider is not installed',
      args: async () => ['--device', 'cuda'],
      code: ExitCode.usage,
      message:
        /--device cuda: ONNX Runtime's CUDA execution provider is not available here .*fetch its files once with `ONNXRUNTIME_NODE_INSTALL=cuda12 node ".*onnxruntime-node\/script\/install\.js"`, or use --device cpu/,
      ...(cudaInstalled() ? { skip: 'the CUDA execution provider is installed here' } : {}),
    },
    {
      name: 'a bad shard',
      args: async () => ['--shard', '3/2'],
      code: ExitCode.usage,
      message: /expected i\/n with 1 ≤ i ≤ n ≤ 10000 \(e\.g\. 2\/8\), got "3\/2"/,
    },
    {
      name: 'token that is not a Hugging Face token',
      args: async () => ['--model', 'someone/model'],
      env: () => ({ HF_TOKEN: 'abc' }),
      code: ExitCode.usage,
      message: /HF_TOKEN does not look like a Hugging Face access token/,
    },
  ];
  async function file(name: string, content: string): Promise<string> {
    const path = join(root, name);
    await writeFile(path, content);
    return path;
  }
  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, { ...(testCase.skip ? { skip: testCase.skip } : {}) }, async () => {
      const outDir = join(root, `out-${testCase.name.replace(/\W+/g, '-')}`);
      const args = ['measure', '--model', model, '--prompts', prompts, '--out', join(outDir, 'r.json'), ...(await testCase.args())];
      const result = await runCli(args, { env: testCase.env?.() ?? {} });
      assert.equal(result.code, testCase.code, result.stderr);
      assert.match(result.stderr, testCase.message);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
      assert.match(lines[0]!, /^resid-norms: /);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
      assert.equal(result.stdout, '');
      assert.deepEqual(await readdir(outDir).catch(() => []), [], 'no output file is left behind');
    });
  }

  it('shows the stack trace with --debug', async () => {
    const result = await runCli(['--debug', 'measure', '--model', model, '--prompts', prompts, '--max-tokens', '99']);
    assert.equal(result.code, ExitCode.usage);
    assert.match(result.stderr, /^resid-norms: --max-tokens 99 exceeds/);
    assert.match(result.stderr, /\n\s+at .*measure/, 'the stack trace follows the message');
  });
});

describe('numerical faults', () => {
  it('reports NaN in a forward pass with model, hook, layer and prompt, and writes nothing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rn-nan-'));
    try {
      const options = { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32, keys: 'base-model' } as const;
      const tiny = await writeTinyGpt2(join(root, 'nan-model'), options);
      // Poison one bias of block 1's MLP: everything before it stays finite.
      const { tensors } = tinyGpt2Weights(options);
      tensors.find((t) => t.name === 'h.1.mlp.c_fc.bias')!.data[3] = Number.NaN;
      await writeFile(join(tiny.dir, 'model.safetensors'), encodeSafetensors(tensors));
      await writeFile(join(root, 'p.txt'), 'first prompt\nsecond\n');
      const out = join(root, 'out', 'r.json');
      const result = await runCli(['measure', '--model', tiny.dir, '--prompts', join(root, 'p.txt'), '--out', out]);
      assert.equal(result.code, ExitCode.numerical, result.stderr);
      assert.match(result.stderr, /^resid-norms: nan-model produced NaN at blocks\.1\.hook_mlp_out \((raw|centered) norm\), prompt \d, position \d+/);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1);
      assert.deepEqual(await readdir(join(root, 'out')).catch(() => []), [], 'no results file and no checkpoint');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
