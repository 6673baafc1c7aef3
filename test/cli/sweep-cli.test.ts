/**
 * Issue 15 through the CLI: a sweep killed (SIGKILL) mid-run resumes on the same command;
 * bad input is one line, a non-zero exit, no stack trace, and nothing written or downloaded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeHub, fakeSha, snapshotFromFolder } from '../support/fake-hub.js';
import { CLI, runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const REPO = 'test-org/tiny';

describe('resid-norms sweep (CLI)', () => {
  let root: string;
  let hub: FakeHub;
  let env: NodeJS.ProcessEnv;
  let prompts: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-sweep-cli-'));
    hub = new FakeHub();
    const revisions: Record<string, { sha: string; files: Map<string, Buffer> }> = {};
    for (const [index, revision] of ['step0', 'step1', 'step2'].entries()) {
      const tiny = await writeTinyGpt2(join(root, 'models', revision), { nLayers: 4, dModel: 16, nHeads: 2, nCtx: 32, seed: 20 + index });
      revisions[revision] = await snapshotFromFolder(tiny.dir, fakeSha(revision));
    }
    hub.repos.set(REPO, { sha: fakeSha('main'), files: revisions.step0!.files, revisions });
    await hub.start();
    env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(root, 'cache'), RESID_NORMS_HUB_RETRY_MS: '5' };
    prompts = join(root, 'prompts.txt');
    await writeFile(prompts, Array.from({ length: 20 }, (_, i) => `prompt ${i} ${'word '.repeat(i % 9)}`).join('\n'));
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  const args = (out: string, extra: string[] = []) => [
    'sweep',
    '--model',
    REPO,
    '--revisions',
    'step0,step1,step2',
    '--prompts',
    prompts,
    '--batch-size',
    '1',
    '--bootstrap',
    '20',
    '--threads',
    '1',
    '--out',
    out,
    ...extra,
  ];

  it('a sweep killed with SIGKILL after its first member resumes: that member is skipped, the others measured', async () => {
    const out = join(root, 'killed');
    const child = spawn(process.execPath, [CLI, ...args(out)], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const first = join(out, 'members', 'test-org--tiny-step0.json');
    const deadline = Date.now() + 60_000;
    while (
      !(await stat(first).then(
        () => true,
        () => false,
      ))
    ) {
      assert.ok(Date.now() < deadline, 'the first member was not measured within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const rerun = await runCli(args(out), { env, timeoutMs: 120_000 });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /\[1\/3 test-org\/tiny@step0\] already measured/);
    assert.doesNotMatch(rerun.stderr, /\[3\/3 test-org\/tiny@step2\] already measured/, 'the kill came before the last member was measured');
    assert.match(rerun.stdout, /^ +1 +test-org\/tiny@step0 +measured +×\d\.\d{4} \(/m);
    assert.match(rerun.stdout, /^ +3 +test-org\/tiny@step2 +measured/m);
    assert.ok((await readdir(join(out, 'figures'))).includes('growth-vs-step.svg'));
  });

  for (const [name, extra, code, message] of [
    ['a bad revision', ['--revisions', 'step0,../x'], 2, /--revisions: "\.\.\/x" is not a valid revision/],
    ['an unknown shorthand-like alias', ['--models', 'gpt3-xl'], 2, /unknown model "gpt3-xl@step0"/],
    ['--member beyond the plan', ['--member', '9'], 2, /--member 9: the sweep has 3 members; valid: 1…3/],
    ['a missing prompt file', ['--prompts', 'nope.txt'], 3, /cannot read prompt file "nope\.txt" \(no such file\)/],
    ['a bad dataset id', ['--prompts', 'hf://datasets/x'], 2, /is not a dataset id like owner\/name/],
    ['--seed without --sample', ['--seed', '3'], 2, /--seed 3 applies to --sample/],
    ['--collect with --member', ['--collect', '--member', '1'], 2, /--member and --collect exclude each other/],
  ] as const) {
    it(`refuses ${name} before any download, in one line, writing nothing`, async () => {
      const out = join(root, `bad-${name.replace(/\W+/g, '-')}`);
      hub.log.length = 0;
      const result = await runCli([...args(out), ...extra], { env, timeoutMs: 60_000 });
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
      assert.equal(hub.log.length, 0, 'no request to the Hub');
      await assert.rejects(stat(out), 'no sweep folder');
    });
  }
});
