/**
 * Issues 25 (item 5) and 27 (item 9): a sweep's revisions from the Hub. `--revisions all` lists
 * the branches through the refs API, in step order; members whose weights have the same sha256
 * as another's are found before measuring (one listing call each, reused by the download) and
 * left out with one warning; a rerun and each --member task take the plan and ask the Hub
 * nothing for planning; a missing repo fails the sweep once, in one line, before anything is
 * measured (and, found while measuring, its other members are not tried); --collect's advice
 * fits --collect; a --member task after --prepare works with the Hub down.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { sweep, SweepIncompleteError, type SweepRequest } from '../../src/commands/sweep.js';
import { ExitCode, UsageError } from '../../src/errors.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { orderBranches } from '../../src/sweep/sweep-revisions.js';
import { FakeHub, fakeSha, snapshotFromFolder, type FakeSnapshot } from '../support/fake-hub.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyOlmo } from '../support/tiny-olmo.js';

const REPO = 'test-org/ckpt';
/** A repo with OLMo-2's branch naming (allenai/OLMo-2-0425-1B: stage1-stepN-tokensMB, stage2-ingredientK-…). */
const OLMO2_REPO = 'test-org/olmo2-ckpt';
const apiCalls = (hub: FakeHub) => hub.log.filter((entry) => entry.url.startsWith('/api/models/'));

describe('sweep revisions from the Hub', () => {
  let root: string;
  let hub: FakeHub;
  let promptsPath: string;
  const env = (cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    HF_ENDPOINT: hub.url,
    HF_HUB_CACHE: cache,
    HF_TOKEN: '',
    HF_TOKEN_PATH: join(root, 'no-token'),
    RESID_NORMS_HUB_RETRY_MS: '1',
    ...extra,
  });
  const request = (outDir: string, cache: string, extra: Partial<SweepRequest> = {}): SweepRequest => ({
    outDir,
    models: [REPO],
    revisions: ['all'],
    promptsPath,
    measure: { batchSize: 2, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false },
    hook: 'resid_pre',
    bootstrap: 0,
    seed: 1,
    figureOptions: { rescale: 'none', x: 'layer' },
    env: env(cache),
    ...extra,
  });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-sweep-revisions-'));
    const snapshot = async (seed: number, sha: string): Promise<FakeSnapshot> =>
      snapshotFromFolder((await writeTinyGpt2(join(root, 'models', String(seed)), { nLayers: 4, dModel: 16, nHeads: 2, nCtx: 32, seed })).dir, sha);
    const [first, middle, last] = [
      await snapshot(1, fakeSha('ckpt step0')),
      await snapshot(2, fakeSha('ckpt step1000')),
      await snapshot(3, fakeSha('ckpt step3000')),
    ];
    // step2000 and main serve step3000's weights (as pythia-2.8b's re-uploaded branches do): measured once, as step3000.
    const revisions: Record<string, FakeSnapshot> = {
      step1000: middle,
      step3000: last,
      step0: first,
      step2000: { sha: fakeSha('ckpt step2000'), files: last.files },
    };
    hub = new FakeHub();
    hub.repos.set(REPO, { sha: fakeSha('ckpt main'), files: last.files, revisions });
    const olmo2 = async (seed: number, name: string): Promise<FakeSnapshot> =>
      snapshotFromFolder(
        (await writeTinyOlmo(join(root, 'models', `olmo2-${seed}`), { modelType: 'olmo2', nLayers: 2, dModel: 16, nHeads: 2, seed })).dir,
        fakeSha(name),
      );
    const olmo2Revisions = {
      'stage1-step1000-tokens3B': await olmo2(11, 'olmo2 1000'),
      'stage2-ingredient1-step100-tokens1B': await olmo2(12, 'olmo2 ingredient1'),
      'stage1-step0-tokens0B': await olmo2(13, 'olmo2 0'),
    };
    hub.repos.set(OLMO2_REPO, { sha: fakeSha('olmo2 main'), files: (await olmo2(14, 'olmo2 final')).files, revisions: olmo2Revisions });
    hub.repos.set('test-org/private', { sha: fakeSha('private'), files: first.files, privateTokens: ['hf_owner'], revisions: { step1: middle } });
    hub.datasets.set('test-org/prompts', {
      sha: fakeSha('prompts'),
      files: new Map([
        ['data/p.parquet', Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: ['the cat sat', 'on the mat again'], type: 'STRING' }] }))],
      ]),
    });
    await hub.start();
    promptsPath = join(root, 'prompts.txt');
    await writeFile(promptsPath, 'the cat sat on the mat\nand then it slept\n');
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('orders branches: names without a number first, then by their numbers', () => {
    assert.deepEqual(orderBranches(['step10', 'stage1-step1000-tokens5B', 'main', 'step2', 'stage1-step200-tokens1B', 'v1']), [
      'main',
      'stage1-step200-tokens1B',
      'stage1-step1000-tokens5B',
      'step2',
      'step10',
      'v1',
    ]);
  });

  it('--revisions all: lists the branches once, leaves out the members with the same weights, and lists nothing again to download', async () => {
    const cache = join(root, 'cache-all');
    const outDir = join(root, 'all');
    hub.log.length = 0;
    const reporter = createSilentReporter();
    const outcome = await sweep(request(outDir, cache), reporter);
    assert.deepEqual(
      outcome.plan.members.map((member) => member.spec),
      [`${REPO}@step0`, `${REPO}@step1000`, `${REPO}@step3000`],
    );
    assert.deepEqual(outcome.plan.sameWeights, [
      { spec: `${REPO}@main`, sameAs: `${REPO}@step3000` },
      { spec: `${REPO}@step2000`, sameAs: `${REPO}@step3000` },
    ]);
    const same = reporter.warnings.filter((warning) => /the same weights/.test(warning));
    assert.equal(same.length, 1, reporter.warnings.join('\n'));
    assert.match(
      same[0]!,
      /^"test-org\/ckpt@main", "test-org\/ckpt@step2000" have the same weights as "test-org\/ckpt@step3000" \(sha256 [0-9a-f]{12}…\): measured once, as test-org\/ckpt@step3000; left out of the sweep/,
    );
    assert.equal(outcome.summary!.counts.measured, 3);
    assert.deepEqual(outcome.summary!.sameWeights, outcome.plan.sameWeights);
    assert.deepEqual(JSON.parse(await readFile(join(outDir, 'sweep.json'), 'utf8')).sameWeights, outcome.plan.sameWeights);
    // 1 refs call + 1 listing per branch (5); the 3 downloads reuse the listings.
    assert.deepEqual(
      apiCalls(hub).map((entry) => entry.url.replace(`/api/models/${REPO}`, '')),
      ['/refs', '/revision/main', '/revision/step0', '/revision/step1000', '/revision/step2000', '/revision/step3000'],
    );

    hub.log.length = 0;
    const again = await sweep(request(outDir, cache), createSilentReporter());
    assert.equal(again.skipped.length, 3);
    assert.deepEqual(hub.log, [], 'a rerun takes the plan: no request to the Hub');
  });

  it("--revisions all on OLMo-2's branches: stage 1 in step order with its steps, the annealing branches after it without one", async () => {
    const outDir = join(root, 'olmo2');
    const prepared = await sweep(request(outDir, join(root, 'cache-olmo2'), { models: [OLMO2_REPO], prepare: true }), createSilentReporter());
    assert.deepEqual(
      prepared.plan.members.map((member) => [member.spec.replace(`${OLMO2_REPO}@`, ''), member.step]),
      [
        ['main', null],
        ['stage1-step0-tokens0B', 0],
        ['stage1-step1000-tokens3B', 1000],
        ['stage2-ingredient1-step100-tokens1B', null],
      ],
    );
  });

  it('--revisions all with --member needs the plan first; after --prepare a task lists nothing', async () => {
    const cache = join(root, 'cache-array');
    const outDir = join(root, 'array');
    await assert.rejects(
      sweep(request(outDir, cache, { member: 1 }), createSilentReporter()),
      (error: unknown) =>
        error instanceof UsageError &&
        /--revisions all lists the branches from the Hub when the plan is made: run the same command with --prepare once/.test(error.message),
    );
    const prepared = await sweep(request(outDir, cache, { prepare: true }), createSilentReporter());
    assert.equal(prepared.plan.members.length, 3);
    hub.log.length = 0;
    await sweep(request(outDir, cache, { member: 2 }), createSilentReporter());
    assert.deepEqual(
      apiCalls(hub).map((entry) => entry.url),
      [`/api/models/${REPO}/revision/step1000`],
      "only the member's own listing",
    );
  });

  it('a missing repo fails the sweep once, in one line, before anything is measured', async () => {
    const cache = join(root, 'cache-missing');
    hub.log.length = 0;
    const result = await runCli(
      ['sweep', '--models', `${REPO},missing/repo`, '--revisions', 'step0,step1000,step3000', '--prompts', promptsPath, '-o', join(root, 'missing')],
      { env: env(cache), timeoutMs: 60_000 },
    );
    assert.equal(result.code, ExitCode.badModel, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0]!,
      /^resid-norms: model repo "missing\/repo" \(revision "step0"\) not found on .*, or gated \/ private \(run `huggingface-cli login` or set HF_TOKEN\); .* \(3 members of the sweep; nothing was measured\)$/,
    );
    assert.equal(hub.log.filter((entry) => entry.url.includes('missing/repo')).length, 1, 'one request for the missing repo');
    assert.equal(hub.log.filter((entry) => entry.url.includes('/resolve/')).length, 0, 'nothing downloaded');
  });

  it('a repo refusing while members are measured: its other members are not tried, one warning', async () => {
    const cache = join(root, 'cache-refused');
    const outDir = join(root, 'refused');
    const owner = request(outDir, cache, { models: ['test-org/private'], revisions: ['main', 'step1'], env: env(cache, { HF_TOKEN: 'hf_owner' }) });
    await sweep({ ...owner, prepare: true }, createSilentReporter());
    hub.log.length = 0;
    const reporter = createSilentReporter();
    const error = await sweep({ ...owner, env: env(join(root, 'cache-refused-2')) }, reporter).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SweepIncompleteError, String(error));
    assert.deepEqual(error.summary.counts, { measured: 0, failed: 2, missing: 0 });
    assert.equal(hub.log.length, 1, 'the second member asks nothing');
    const failures = reporter.warnings.filter((warning) => /failed/.test(warning));
    assert.equal(failures.length, 1, reporter.warnings.join('\n'));
    assert.match(failures[0]!, /not found on .*, or gated \/ private .*; the 1 other member of test-org\/private fails the same way and is not tried$/);
  });

  it("--collect's advice fits --collect", async () => {
    const cache = join(root, 'cache-collect');
    const outDir = join(root, 'collect');
    await sweep(request(outDir, cache, { revisions: ['step0', 'step1000'], prepare: true }), createSilentReporter());
    const error = await sweep(request(outDir, cache, { collect: true }), createSilentReporter()).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SweepIncompleteError);
    assert.match(
      error.message,
      /measure the others \(`sweep --member i` for each, or the sweep command without --collect, which skips the measured ones\), then --collect again$/,
    );
    assert.doesNotMatch(error.message, /run the same command again/);
  });

  it('a --member task after --prepare works with the Hub down: the prompts and the model come from the cache', async () => {
    const cache = join(root, 'cache-down');
    const outDir = join(root, 'down');
    const spec = { revisions: ['step0', 'step1000'], promptsPath: 'hf://datasets/test-org/prompts' };
    await sweep(request(join(root, 'warm'), cache, { ...spec, member: 1 }), createSilentReporter()); // the model of member 1 is in the cache
    await sweep(request(outDir, cache, { ...spec, prepare: true }), createSilentReporter());
    const reporter = createSilentReporter();
    const outcome = await sweep(request(outDir, cache, { ...spec, member: 1, env: env(cache, { HF_ENDPOINT: 'http://127.0.0.1:1' }) }), reporter);
    assert.equal(outcome.measured.length, 1, reporter.warnings.join('\n'));
    assert.ok(
      reporter.warnings.some((warning) => /using the cached snapshot [0-9a-f]{10} of dataset "test-org\/prompts@main"/.test(warning)),
      reporter.warnings.join('\n'),
    );
  });
});
