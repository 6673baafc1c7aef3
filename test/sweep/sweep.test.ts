/**
 * Issue 15: sweeps over revisions of a model on the fake Hub: a 404 revision (reported, the
 * others measured, exit code 7), resumption (finished members skipped, an interrupted member
 * resumed from its checkpoint), a job array (--prepare, --member i, --collect) and --evict.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter, type Reporter } from '../../src/messages/reporter.js';
import { sweep, SweepIncompleteError, type SweepRequest } from '../../src/commands/sweep.js';
import { ExitCode, UsageError } from '../../src/errors.js';
import { resolveModel } from '../../src/models/resolve-model.js';
import { evictSnapshot } from '../../src/sweep/evict.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';
import { expandSweepFolders, sweepFigures } from '../../src/sweep/sweep-folder.js';
import { runReport } from '../../src/commands/report.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import type { SweepSummary } from '../../src/results/sweep-schema.js';
import { FakeHub, fakeSha, snapshotFromFolder } from '../support/fake-hub.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const REPO = 'test-org/tiny';
const STEPS = { step0: 11, step1000: 12, step2000: 13 } as const;
const shaOf = (revision: string) => fakeSha(`tiny ${revision}`);

/** A reporter that aborts the run once member `index` has finished `batches` batches. */
function abortDuring(index: number, batches: number, controller: AbortController): Reporter & { messages: string[] } {
  const silent = createSilentReporter();
  return {
    ...silent,
    progress: (label) => {
      let ticks = 0;
      return {
        tick: () => {
          if (label.startsWith(`[${index}/`) && label.includes('measuring') && ++ticks >= batches) controller.abort('SIGINT');
        },
        done: () => undefined,
      };
    },
  };
}

describe('sweep over revisions on the fake Hub', () => {
  let root: string;
  let hub: FakeHub;
  let promptsPath: string;
  let blobOf: Record<string, string>;
  const env = (cache: string): NodeJS.ProcessEnv => ({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, RESID_NORMS_HUB_RETRY_MS: '5' });
  const request = (outDir: string, cache: string, extra: Partial<SweepRequest> = {}): SweepRequest => ({
    outDir,
    models: [REPO],
    revisions: ['step0', 'step1000', 'step2000'],
    promptsPath,
    measure: { batchSize: 2, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false },
    hook: 'resid_pre',
    bootstrap: 50,
    seed: 1,
    figureOptions: { rescale: 'none', x: 'layer' },
    env: env(cache),
    ...extra,
  });
  const growth = (summary: SweepSummary) => summary.members.map((member) => member.growth?.factor);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-sweep-'));
    hub = new FakeHub();
    const revisions: Record<string, { sha: string; files: Map<string, Buffer> }> = {};
    blobOf = {};
    for (const [revision, seed] of Object.entries(STEPS)) {
      const tiny = await writeTinyGpt2(join(root, 'models', revision), { nLayers: 4, dModel: 16, nHeads: 2, nCtx: 32, seed });
      revisions[revision] = await snapshotFromFolder(tiny.dir, shaOf(revision));
      const { createHash } = await import('node:crypto');
      blobOf[revision] = createHash('sha256').update(revisions[revision].files.get('model.safetensors')!).digest('hex');
    }
    // main is its own commit with step2000's weights: the blob both link to must survive evicting step2000.
    hub.repos.set(REPO, { sha: shaOf('main'), files: revisions.step2000!.files, revisions });
    await hub.start();
    promptsPath = join(root, 'prompts.txt');
    await writeFile(promptsPath, Array.from({ length: 7 }, (_, i) => `prompt ${i}: ${'the cat sat '.repeat(1 + (i % 3))}`).join('\n'));
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('measures every revision, reports a 404 one with exit code 7, and a rerun skips the measured ones', async () => {
    const outDir = join(root, 'partial');
    const cache = join(root, 'cache-partial');
    const reporter = createSilentReporter();
    const wanted = request(outDir, cache, { revisions: ['step0', 'step9999', 'step1000', 'step2000'] });
    const error = await sweep(wanted, reporter).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SweepIncompleteError, String(error));
    assert.equal(error.exitCode, ExitCode.partial);
    assert.match(error.message, /3 of 4 members measured; "test-org\/tiny@step9999" failed \(revision "step9999" of "test-org\/tiny" not found/);
    assert.doesNotMatch(error.message, /\n/);
    const { summary } = error;
    assert.deepEqual(summary.counts, { measured: 3, failed: 1, missing: 0 });
    assert.deepEqual(
      summary.members.map((member) => member.commit ?? null),
      [shaOf('step0'), null, shaOf('step1000'), shaOf('step2000')],
    );
    assert.deepEqual(
      summary.members.map((member) => member.step),
      [0, 9999, 1000, 2000],
    );
    const factors = growth(summary).filter((factor) => factor !== undefined);
    assert.equal(new Set(factors).size, 3, 'different weights, different growth');
    for (const member of summary.members.filter((m) => m.status === 'measured')) {
      assert.ok(member.growth!.ciLow <= member.growth!.factor && member.growth!.factor <= member.growth!.ciHigh);
      assert.equal(member.profile!.length, 4);
      assert.ok(member.position0![3]! > 0);
    }
    assert.deepEqual(JSON.parse(await readFile(join(outDir, 'sweep.json'), 'utf8')).counts, summary.counts);
    assert.deepEqual((await readdir(join(outDir, 'figures'))).sort(), ['growth-vs-step.svg', 'position0-vs-step.svg', 'profiles.svg']);
    assert.match(await readFile(join(outDir, 'members', 'test-org--tiny-step9999.failed.json'), 'utf8'), /not found/);

    hub.log.length = 0;
    const again = createSilentReporter();
    const second = await sweep(wanted, again).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(second instanceof SweepIncompleteError);
    assert.equal(again.messages.filter((message) => /already measured .*; skipped/.test(message)).length, 3, again.messages.join('\n'));
    assert.deepEqual(growth(second.summary), growth(summary));
    assert.ok(
      hub.log.every((entry) => entry.url.includes('step9999')),
      `only the failed member asks the Hub: ${hub.log.map((entry) => entry.url).join(', ')}`,
    );
  });

  it('job array: --prepare, --member i per task, then --collect gives the one-run summary; an interrupted member resumes', async () => {
    const cache = join(root, 'cache-array');
    const whole = join(root, 'whole');
    const oneRun = await sweep(request(whole, cache), createSilentReporter());
    const array = join(root, 'array');
    const prepared = await sweep(request(array, cache, { prepare: true }), createSilentReporter());
    assert.equal(prepared.summary, undefined);
    assert.equal(prepared.plan.members.length, 3);
    await assert.rejects(
      sweep(request(array, cache, { member: 4 }), createSilentReporter()),
      (error: unknown) => error instanceof UsageError && /--member 4: the sweep has 3 members; valid: 1…3/.test(error.message),
    );
    for (const member of [3, 1]) await sweep(request(array, cache, { member }), createSilentReporter());

    // Member 2 is stopped after its first batch (SIGINT), then resumed from its checkpoint.
    const controller = new AbortController();
    await assert.rejects(
      sweep(request(array, cache, { member: 2, signal: controller.signal }), abortDuring(2, 1, controller)),
      (error: unknown) => (error as { exitCode?: number }).exitCode === ExitCode.interrupted,
    );
    assert.ok(
      (await readdir(join(array, 'members'))).some((name) => name.endsWith('.checkpoint')),
      'the interrupted member left its checkpoint',
    );
    const incomplete = await sweep(request(array, cache, { collect: true }), createSilentReporter()).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(incomplete instanceof SweepIncompleteError);
    assert.deepEqual(incomplete.summary.counts, { measured: 2, failed: 0, missing: 1 });
    const resumed = createSilentReporter();
    await sweep(request(array, cache, { member: 2 }), resumed);
    assert.ok(
      resumed.messages.some((message) => /\[2\/3 test-org\/tiny@step1000\] resuming: \d+ of \d+ batches are done/.test(message)),
      resumed.messages.join('\n'),
    );

    const collected = await sweep(
      {
        outDir: array,
        collect: true,
        measure: request(array, cache).measure,
        hook: 'resid_pre',
        bootstrap: 50,
        seed: 1,
        figureOptions: { rescale: 'none', x: 'layer' },
      },
      createSilentReporter(),
    );
    assert.deepEqual(growth(collected.summary!), growth(oneRun.summary!));
    assert.deepEqual(
      collected.summary!.members.map((member) => member.position0),
      oneRun.summary!.members.map((member) => member.position0),
    );
  });

  it('report takes the sweep folder: the comparison of its members, their fits and the sweep figures', async () => {
    const { files, sweeps } = await expandSweepFolders([join(root, 'whole')]);
    assert.deepEqual(
      files.map((file) => file.slice(root.length)),
      ['/whole/members/test-org--tiny-step0.json', '/whole/members/test-org--tiny-step1000.json', '/whole/members/test-org--tiny-step2000.json'],
    );
    const outDir = join(root, 'report');
    const content = await runReport(
      { files, figures: ['compare'], figureOptions: DEFAULT_FIGURE_OPTIONS, outDir, extraFigures: await sweepFigures(sweeps, DEFAULT_FIGURE_OPTIONS) },
      createSilentReporter(),
    );
    assert.deepEqual((await readdir(join(outDir, 'figures'))).sort(), [
      'compare.svg',
      'sweep-growth-vs-step.svg',
      'sweep-position0-vs-step.svg',
      'sweep-profiles.svg',
    ]);
    assert.equal(content.fits.rows.filter((row) => row[1] === 'resid_pre').length, 3);
    assert.match(await readFile(join(outDir, 'summary.md'), 'utf8'), /growth-vs-size.*fewer than two model sizes/);
    await assert.rejects(expandSweepFolders([join(root, 'models')]), /a folder without a sweep/);
  });

  it('refuses a folder that holds another sweep, and --collect on a folder without one', async () => {
    const cache = join(root, 'cache-array');
    await assert.rejects(
      sweep(request(join(root, 'whole'), cache, { revisions: ['step0'] }), createSilentReporter()),
      (error: unknown) =>
        error instanceof UsageError &&
        /holds another sweep: its members differ \(this run drops test-org\/tiny@step1000, test-org\/tiny@step2000\)/.test(error.message),
    );
    await assert.rejects(
      sweep(request(join(root, 'whole'), cache, { measure: { ...request('', '').measure, batchSize: 3 } }), createSilentReporter()),
      /its batchSize was 2, now 3/,
    );
    await assert.rejects(sweep(request(join(root, 'empty'), cache, { collect: true }), createSilentReporter()), /holds no sweep/);
  });

  it('--evict removes each member snapshot and its own weights, never a blob another revision links to', async () => {
    const cache = join(root, 'cache-evict');
    const main = await resolveModel(REPO, { reporter: createSilentReporter(), env: env(cache) });
    const folder = join(cache, 'models--test-org--tiny');
    const outcome = await sweep(request(join(root, 'evicted'), cache, { revisions: ['step0', 'step2000'], evict: true }), createSilentReporter());
    assert.equal(outcome.summary!.counts.measured, 2);
    assert.deepEqual(await readdir(join(folder, 'snapshots')), [shaOf('main')]);
    const blobs = await readdir(join(folder, 'blobs'));
    assert.ok(!blobs.includes(blobOf.step0!), 'step0 weights are gone');
    assert.ok(blobs.includes(blobOf.step2000!), "step2000's weights stay: main links to them");
    assert.deepEqual(await readdir(join(folder, 'refs')), ['main']);
    const again = await resolveModel(REPO, { reporter: createSilentReporter(), env: { ...env(cache), HF_HUB_OFFLINE: '1' } });
    assert.equal(again.dir, main.dir, 'main is still complete in the cache');
  });

  it('eviction never deletes through a link that leads out of the repo, and refuses a non-sha', async () => {
    const cache = join(root, 'cache-planted');
    const sha = 'b'.repeat(40);
    const snapshot = join(cache, 'models--o--n', 'snapshots', sha);
    await mkdir(snapshot, { recursive: true });
    const victim = join(root, 'victim.safetensors');
    await writeFile(victim, 'precious');
    await symlink(victim, join(snapshot, 'model.safetensors'));
    await mkdir(join(cache, 'models--o--n', 'blobs'), { recursive: true });
    await writeFile(join(cache, 'models--o--n', 'blobs', 'c'.repeat(64)), 'weights');
    await symlink(join('..', '..', 'blobs', 'c'.repeat(64)), join(snapshot, 'model-00001.safetensors'));
    const eviction = await evictSnapshot(cache, 'o/n', sha);
    assert.equal(eviction.blobs, 1);
    assert.equal(await readFile(victim, 'utf8'), 'precious');
    await assert.rejects(stat(snapshot));
    await assert.rejects(evictSnapshot(cache, 'o/n', '../../..'), /not a commit sha/);
  });

  // Folders of the cache that are links to elsewhere: nothing outside the cache is deleted.
  const linkedFolders: Array<{ name: string; link: 'blobs' | 'refs' | 'snapshot' }> = [
    { name: 'a blobs/ folder that is a link out of the cache', link: 'blobs' },
    { name: 'a refs/ folder that is a link out of the cache', link: 'refs' },
    { name: 'a snapshot folder that is a link out of the cache', link: 'snapshot' },
  ];
  for (const { name, link } of linkedFolders) {
    it(`eviction deletes nothing outside the cache through ${name}`, async () => {
      const cache = join(root, `cache-linked-${link}`);
      const outside = join(root, `outside-${link}`);
      const sha = 'd'.repeat(40);
      const blob = 'e'.repeat(64);
      const repo = join(cache, 'models--o--n');
      // The folder the link leads to holds what a deleter following it would remove.
      await mkdir(outside, { recursive: true });
      await writeFile(join(outside, blob), 'precious weights');
      await writeFile(join(outside, 'main'), sha);
      const snapshotParent = join(repo, 'snapshots');
      await mkdir(snapshotParent, { recursive: true });
      if (link === 'snapshot') {
        await mkdir(join(outside, 'snap'), { recursive: true });
        await symlink(join('..', '..', 'blobs', blob), join(outside, 'snap', 'model.safetensors'));
        await symlink(join(outside, 'snap'), join(snapshotParent, sha));
      } else {
        await mkdir(join(snapshotParent, sha));
        await symlink(join('..', '..', 'blobs', blob), join(snapshotParent, sha, 'model.safetensors'));
      }
      if (link === 'blobs') await symlink(outside, join(repo, 'blobs'));
      else await mkdir(join(repo, 'blobs'));
      if (link === 'refs') await symlink(outside, join(repo, 'refs'));
      else await mkdir(join(repo, 'refs'));
      const before = await snapshotTree(outside);
      const eviction = await evictSnapshot(cache, 'o/n', sha);
      assert.equal(eviction.blobs, 0);
      assert.deepEqual(diffTrees(before, await snapshotTree(outside)), [], 'nothing outside the cache changed');
    });
  }
});
