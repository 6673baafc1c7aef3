/**
 * Issue 16, class 2: revisions become paths in the cache (refs/<revision>), so they are held to
 * git's ref-name rules. A revision that could leave the cache is refused before any request or
 * file access, online and offline, with a message that says "revision"; nothing is written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode, UsageError } from '../../src/errors.js';
import { refPath } from '../../src/models/hub/hub-cache.js';
import { parseModelSpec, revisionProblem } from '../../src/models/resolve-model.js';
import { FakeHub } from '../support/fake-hub.js';
import { runCli } from '../support/run-cli.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

const BAD_REVISIONS: Array<[string, RegExp]> = [
  ['../../../../x/victim.txt', /"\."|"\.\."/],
  ['.', /"\."|"\.\."/],
  ['..', /"\."|"\.\."/],
  ['main/../../x', /"\."|"\.\."/],
  ['a..b', /"\."|"\.\."/],
  ['/etc/passwd', /empty name/],
  ['main/', /empty name/],
  ['refs//pr', /empty name/],
  ['', /empty/],
  ['main\u0000x', /control character/],
  ['main\nx', /control character/],
  ['.hidden', /may not start with "\."/],
  ['-rf', /may not start with/],
  ['main.lock', /\.lock/],
  ['a b', /letters, digits/],
  ['a:b', /letters, digits/],
  ['HEAD~1', /letters, digits/],
  ['x'.repeat(201), /longer than 200/],
];

describe('revision names', () => {
  for (const [revision, why] of BAD_REVISIONS) {
    it(`refuses @${JSON.stringify(revision).slice(0, 40)}`, async () => {
      assert.match(revisionProblem(revision) ?? 'accepted', why);
      await assert.rejects(parseModelSpec(`owner/name@${revision}`), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /revision .* is not a valid revision/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    });
  }

  for (const revision of ['main', 'v1.0', 'step143000', 'refs/pr/1', 'release-2024_01+b', 'a'.repeat(40)]) {
    it(`accepts @${revision.slice(0, 20)}`, async () => {
      assert.equal(revisionProblem(revision), undefined);
      assert.deepEqual(await parseModelSpec(`owner/name@${revision}`), { kind: 'hub', repo: 'owner/name', revision, id: `owner/name@${revision}` });
    });
  }

  it('refPath refuses a revision that leaves the refs folder, whoever calls it', () => {
    for (const revision of ['..', '../../x', '.', 'a/../../b']) assert.throws(() => refPath('/cache', 'o/n', revision), /is not a valid revision/);
    assert.equal(refPath('/cache', 'o/n', 'refs/pr/1'), '/cache/models--o--n/refs/refs/pr/1');
  });
});

describe('measure with a traversing revision, against a Hub and offline', () => {
  let root: string;
  let hub: FakeHub;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-revision-'));
    await mkdir(join(root, 'cache'));
    await mkdir(join(root, 'x'));
    await writeFile(join(root, 'x', 'victim.txt'), 'keep me\n');
    // An offline read of refs/../../x/victim.txt would find this "sha".
    await mkdir(join(root, 'cache', 'models--a--b', 'refs'), { recursive: true });
    await writeFile(join(root, 'x', 'sha.txt'), `${'b'.repeat(40)}\n`);
    hub = new FakeHub();
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('offline, a FIFO as refs/main in the cache is passed over at once, not read forever', async () => {
    const refs = join(root, 'cache', 'models--a--b', 'refs');
    const made = spawnSync('mkfifo', [join(refs, 'main')]);
    assert.equal(made.status, 0, String(made.stderr));
    try {
      const env = { HF_HUB_CACHE: join(root, 'cache'), HF_HUB_OFFLINE: '1' };
      const result = await runCli(['measure', '--model', 'a/b', '--out', join(root, 'out', 'r.json')], { env, cwd: root, timeoutMs: 60_000 });
      assert.equal(result.code, ExitCode.network, result.stderr);
      assert.match(result.stderr, /^resid-norms: HF_HUB_OFFLINE is set and "a\/b@main" is not complete in the cache/);
    } finally {
      await rm(join(refs, 'main'));
    }
  });

  const cases: Array<{ name: string; model: string; offline: boolean }> = [
    { name: 'a path to a file outside the cache, online', model: 'a/b@../../../x/victim.txt', offline: false },
    { name: 'a path that would create folders, online', model: 'a/b@../../../newdir/sub/file', offline: false },
    { name: 'a ref file outside the cache, offline', model: 'a/b@../../../x/sha.txt', offline: true },
    { name: '@.', model: 'a/b@.', offline: false },
    { name: '@..', model: 'a/b@..', offline: true },
    { name: 'a control character', model: 'a/b@main\u0007', offline: false },
  ];
  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const before = await snapshotTree(root);
      hub.log.length = 0;
      const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(root, 'cache'), HF_HUB_OFFLINE: testCase.offline ? '1' : '' };
      const result = await runCli(['measure', '--model', testCase.model, '--out', join(root, 'out', 'r.json')], { env, cwd: root });
      assert.equal(result.code, ExitCode.usage, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /^resid-norms: --model ".*": revision ".*" is not a valid revision \(.*\); give a branch, tag or commit sha/);
      assert.deepEqual(hub.log, [], 'no request reaches the Hub');
      assert.deepEqual(diffTrees(before, await snapshotTree(root)), [], 'nothing is written, not even a .tmp file');
    });
  }
});
