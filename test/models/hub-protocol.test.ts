/**
 * Issue 25: the fake Hub answers as the real Hub does (the shapes docs/hub.md lists, what
 * huggingface_hub and @huggingface/hub read from it), checked on raw HTTP so the downloader's
 * tests stand on a Hub that behaves like the real one: redirects to a CDN on another port with
 * the metadata on the 302 itself, same-origin 307s for small files, Range and 416, 401 for missing repos and refused tokens, 429 with RateLimit headers,
 * git blob oids (checked against git itself), `expand` and `blobs`, paged trees, refs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { FakeHub, fakeSha } from '../support/fake-hub.js';
import { gitOid, sha256 } from '../support/fake-hub-serve.js';

const REPO = 'test-org/proto';
const WEIGHTS = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
const CONFIG = Buffer.from('{"model_type": "gpt2"}\n');
const SHA = fakeSha('proto');

describe('the fake Hub answers as the real Hub does', () => {
  let hub: FakeHub;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(new URL(path, hub.url), { redirect: 'manual', headers });

  before(async () => {
    hub = new FakeHub();
    hub.repos.set(REPO, {
      sha: SHA,
      files: new Map([
        ['config.json', CONFIG],
        ['model.safetensors', WEIGHTS],
        ['data/x.txt', Buffer.from('x')],
      ]),
      revisions: { step1: { sha: fakeSha('proto step1'), files: new Map([['config.json', CONFIG]]) } },
    });
    hub.repos.set('test-org/lfs', { sha: SHA, files: new Map([['model.safetensors', WEIGHTS]]), storage: 'lfs' });
    await hub.start();
  });
  after(() => hub.stop());

  it('resolve: 302 to the CDN on another port, with X-Repo-Commit, X-Linked-Etag and X-Linked-Size on the 302; Xet adds X-Xet-Hash and its links', async () => {
    for (const [repo, xet] of [
      [REPO, true],
      ['test-org/lfs', false],
    ] as const) {
      const answer = await get(`/${repo}/resolve/main/model.safetensors`);
      assert.equal(answer.status, 302);
      const location = new URL(answer.headers.get('location')!);
      assert.equal(location.origin, hub.cdnUrl, 'another origin');
      assert.match(location.pathname, xet ? /^\/xet-bridge-us\// : /^\/repos\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
      assert.equal(answer.headers.get('x-repo-commit'), SHA);
      assert.equal(answer.headers.get('x-linked-etag'), `"${sha256(WEIGHTS)}"`);
      assert.equal(answer.headers.get('x-linked-size'), String(WEIGHTS.length));
      assert.equal(answer.headers.get('x-xet-hash') !== null, xet);
      if (xet) assert.match(answer.headers.get('link')!, /rel="xet-auth".*rel="xet-reconstruction-info"/);
      const body = await fetch(location);
      assert.deepEqual(Buffer.from(await body.arrayBuffer()), WEIGHTS);
    }
  });

  it('resolve asked for Xet file info (what @huggingface/hub asks): the info, not a redirect', async () => {
    const answer = await get(`/${REPO}/resolve/main/model.safetensors`, { Accept: 'application/vnd.xet-fileinfo+json, */*', Range: 'bytes=0-0' });
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type')!, /^application\/vnd\.xet-fileinfo\+json/);
    assert.equal(answer.headers.get('x-linked-size'), String(WEIGHTS.length));
    assert.match(answer.headers.get('link')!, /rel="xet-auth"/);
  });

  it('resolve: a small file is a same-origin 307 to the resolve-cache route, which serves it with its git oid as ETag', async () => {
    const answer = await get(`/${REPO}/resolve/main/config.json`);
    assert.equal(answer.status, 307);
    const location = answer.headers.get('location')!;
    assert.match(location, new RegExp(`^/api/resolve-cache/models/${REPO}/${SHA}/config\\.json\\?`));
    const served = await get(location);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('etag'), `"${gitOid(CONFIG)}"`);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), CONFIG);
  });

  it('the CDN honours Range, answers 416 past the end, and refuses a request that carries a token', async () => {
    const cdn = new URL((await get(`/${REPO}/resolve/main/model.safetensors`)).headers.get('location')!);
    const part = await fetch(cdn, { headers: { Range: 'bytes=1000-' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-${WEIGHTS.length - 1}/${WEIGHTS.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), WEIGHTS.subarray(1000));
    const past = await fetch(cdn, { headers: { Range: `bytes=${WEIGHTS.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${WEIGHTS.length}`);
    assert.equal((await fetch(cdn, { headers: { Authorization: 'Bearer hf_x' } })).status, 400);
  });

  it('401 for a missing repo without a token, 404 with one; 401 "Invalid credentials" for a refused token even on a public repo', async () => {
    const missing = await get('/api/models/test-org/nope/revision/main');
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('x-error-code'), 'RepoNotFound');
    assert.equal((await get('/api/models/test-org/nope/revision/main', { Authorization: 'Bearer hf_good' })).status, 404);
    hub.invalidTokens.add('hf_expired');
    const refused = await get(`/api/models/${REPO}/revision/main`, { Authorization: 'Bearer hf_expired' });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('x-error-message'), 'Invalid credentials in Authorization header');
    assert.equal((await get(`/api/models/${REPO}/revision/nope`)).headers.get('x-error-code'), 'RevisionNotFound');
  });

  it('honours expand (only the fields named, with _id and id) and blobs (sizes, git oids, LFS sha256)', async () => {
    const expanded = (await (await get(`/api/models/${REPO}/revision/main?expand=sha&expand=private`)).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(expanded).sort(), ['_id', 'id', 'private', 'sha']);
    const full = (await (await get(`/api/models/${REPO}/revision/step1`)).json()) as { sha: string; siblings: object[] };
    assert.equal(full.sha, fakeSha('proto step1'));
    assert.deepEqual(full.siblings, [{ rfilename: 'config.json' }]);
    const blobs = (await (await get(`/api/models/${REPO}/revision/main?blobs=true`)).json()) as {
      siblings: Array<{ rfilename: string; blobId: string; size: number; lfs?: { sha256: string } }>;
    };
    const config = blobs.siblings.find((sibling) => sibling.rfilename === 'config.json')!;
    const git = spawnSync('git', ['hash-object', '--stdin'], { input: CONFIG });
    if (git.status === 0) assert.equal(config.blobId, git.stdout.toString().trim(), 'the git oid is what git computes');
    assert.equal(config.blobId, gitOid(CONFIG));
    assert.equal(config.lfs, undefined);
    assert.equal(blobs.siblings.find((sibling) => sibling.rfilename === 'model.safetensors')!.lfs!.sha256, sha256(WEIGHTS));
  });

  it('pages the tree with Link rel="next", and lists refs', async () => {
    hub.treePageSize = 2;
    try {
      const first = await get(`/api/models/${REPO}/tree/main?recursive=true&expand=false`);
      const entries = (await first.json()) as Array<{ path: string }>;
      assert.equal(entries.length, 2);
      const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')![1]!;
      const rest = (await (await fetch(next)).json()) as Array<{ path: string }>;
      assert.deepEqual([...entries, ...rest].map((entry) => entry.path).sort(), ['config.json', 'data', 'data/x.txt', 'model.safetensors']);
    } finally {
      hub.treePageSize = 1000;
    }
    const refs = (await (await get(`/api/models/${REPO}/refs`)).json()) as {
      branches: Array<{ name: string; ref: string; targetCommit: string }>;
      tags: unknown[];
    };
    assert.deepEqual(
      refs.branches.map((branch) => [branch.name, branch.ref, branch.targetCommit]),
      [
        ['main', 'refs/heads/main', SHA],
        ['step1', 'refs/heads/step1', fakeSha('proto step1')],
      ],
    );
  });

  it('429 with RateLimit and RateLimit-Policy past the quota; every API answer tells what is left', async () => {
    hub.rateLimit = { limit: 2, windowSeconds: 300, retryAfter: true };
    try {
      const ok = await get(`/api/models/${REPO}/revision/main`);
      assert.match(ok.headers.get('ratelimit')!, /^"api";r=1;t=\d+$/);
      await get(`/api/models/${REPO}/revision/main`);
      const limited = await get(`/api/models/${REPO}/revision/main`);
      assert.equal(limited.status, 429);
      assert.match(limited.headers.get('ratelimit')!, /^"api";r=0;t=\d+$/);
      assert.equal(limited.headers.get('ratelimit-policy'), '"fixed window";"api";q=2;w=300');
      assert.match(limited.headers.get('retry-after')!, /^\d+$/);
      assert.equal((await get(`/${REPO}/resolve/main/model.safetensors`)).status, 302, 'resolve is another bucket');
    } finally {
      hub.rateLimit = undefined;
    }
  });
});
