/**
 * Issue 25: downloads as they really go. One listing call per revision; `resolve` followed
 * through its 302 to the CDN (the Xet cas-bridge by default, cdn-lfs for classic LFS repos) or
 * its same-origin 307 for small files, with the token never sent to the CDN; resumes that
 * finish a full-size partial file without a request, start over when a server refuses (416)
 * or ignores (200) the range, drop a corrupt partial file, and survive a connection cut on the
 * bridge; a symlink or FIFO planted at the partial file's name.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, beforeEach, describe, it } from 'node:test';
import { NetworkError } from '../../src/errors.js';
import { resolveModel } from '../../src/models/resolve-model.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { FakeHub, fakeSha } from '../support/fake-hub.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const REPO = 'test-org/moving';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('Hub transfers: redirects, the CDN, resumes', () => {
  let root: string;
  let hub: FakeHub;
  let cache: string;
  let files: Map<string, Buffer>;
  let weights: Buffer;
  const reporter = createSilentReporter();
  const resolve = (spec = REPO, env: NodeJS.ProcessEnv = {}) =>
    resolveModel(spec, {
      reporter,
      env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, RESID_NORMS_HUB_RETRY_MS: '1', HF_TOKEN: '', HF_TOKEN_PATH: join(root, 'no-token'), ...env },
    });
  const blobs = () => join(cache, 'models--test-org--moving', 'blobs');
  const partial = () => join(blobs(), `${sha256(weights)}.incomplete`);
  const weightRequests = () => hub.log.filter((entry) => entry.url.endsWith('/model.safetensors'));

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hub-transfers-'));
    const tiny = await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    files = new Map();
    for (const name of await readdir(tiny.dir)) files.set(name, await readFile(join(tiny.dir, name)));
    weights = files.get('model.safetensors')!;
    const step1 = await writeTinyGpt2(join(root, 'step1'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32, seed: 9 });
    hub = new FakeHub();
    hub.repos.set(REPO, {
      sha: fakeSha('moving'),
      files,
      revisions: {
        step1: { sha: fakeSha('moving step1'), files: new Map([...files, ['model.safetensors', await readFile(join(step1.dir, 'model.safetensors'))]]) },
      },
    });
    hub.repos.set('test-org/classic', { sha: fakeSha('classic'), files, storage: 'lfs' });
    hub.repos.set('test-org/gated', { sha: fakeSha('gated'), files, gatedTokens: ['hf_allowed'] });
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    cache = await mkdtemp(join(root, 'cache-'));
    hub.log.length = 0;
    hub.cdnLog.length = 0;
    hub.faults.clear();
  });

  it('makes one API call per revision; a second revision fetches only the files that differ', async () => {
    await resolve();
    assert.deepEqual(
      hub.log.filter((entry) => entry.url.startsWith('/api/models/')).map((entry) => entry.url + entry.query),
      [`/api/models/${REPO}/revision/main?blobs=true`],
    );
    const resolved = hub.log.filter((entry) => entry.url.includes('/resolve/')).map((entry) => entry.url.split('/').pop());
    assert.deepEqual(resolved.sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    hub.log.length = 0;
    await resolve(`${REPO}@step1`);
    assert.equal(hub.log.filter((entry) => entry.url.startsWith('/api/models/')).length, 1);
    assert.deepEqual(
      hub.log.filter((entry) => entry.url.includes('/resolve/')).map((entry) => entry.url.split('/').pop()),
      ['model.safetensors'],
      'the tokenizer and config blobs are shared',
    );
  });

  it('follows resolve to the Xet bridge and to cdn-lfs alike, and small files through the same-origin 307', async () => {
    for (const [repo, prefix] of [
      [REPO, '/xet-bridge-us/'],
      ['test-org/classic', '/repos/'],
    ] as const) {
      hub.cdnLog.length = 0;
      const model = await resolve(repo);
      assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
      assert.deepEqual(
        hub.cdnLog.map((entry) => entry.url.startsWith(prefix)),
        [true],
        `${repo}: one CDN request, on ${prefix}`,
      );
    }
    assert.ok(
      hub.log.some((entry) => entry.url.startsWith('/api/resolve-cache/models/test-org/classic/')),
      'the 307 is followed',
    );
  });

  it('sends the token to the Hub, never to the CDN', async () => {
    const model = await resolve('test-org/gated', { HF_TOKEN: 'hf_allowed' });
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
    assert.ok(hub.log.filter((entry) => entry.url.includes('/resolve/')).every((entry) => entry.authorization === 'Bearer hf_allowed'));
    assert.ok(hub.cdnLog.length > 0 && hub.cdnLog.every((entry) => entry.authorization === undefined), 'the CDN saw no token');
  });

  it('follows a renamed repo to its new name', async () => {
    hub.renamed.set('old-org/moving', REPO);
    try {
      const model = await resolve('old-org/moving');
      assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
    } finally {
      hub.renamed.clear();
    }
  });

  it('finishes a partial file that has the full size without any request for it (a CDN answers 416 past the end)', async () => {
    await mkdir(blobs(), { recursive: true });
    await writeFile(partial(), weights);
    const model = await resolve();
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
    assert.deepEqual(weightRequests(), [], 'no request for the weights');
  });

  it('drops a full-size partial file with wrong bytes and fetches the file whole, once', async () => {
    await mkdir(blobs(), { recursive: true });
    await writeFile(partial(), Buffer.alloc(weights.length, 1));
    const model = await resolve();
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
    assert.deepEqual(
      weightRequests().map((entry) => entry.range),
      [undefined],
    );
  });

  for (const [name, fault, ranges] of [
    ['refuses ranges (416)', { refuseRanges: true }, ['bytes=1000-', undefined]],
    ['ignores ranges (200 with the whole file)', { ignoreRange: true }, ['bytes=1000-']],
  ] as const) {
    it(`starts over from byte 0 when the CDN ${name}`, async () => {
      hub.faults.set('model.safetensors', fault);
      await mkdir(blobs(), { recursive: true });
      await writeFile(partial(), weights.subarray(0, 1000));
      const model = await resolve();
      assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
      assert.deepEqual(
        weightRequests().map((entry) => entry.range),
        ranges,
      );
    });
  }

  for (const repo of [REPO, 'test-org/classic']) {
    it(`resumes after the connection to the CDN is cut mid-body (${repo === REPO ? 'Xet bridge' : 'cdn-lfs'})`, async () => {
      hub.faults.set('model.safetensors', { dropAfterBytes: 700, dropTimes: 2 });
      const model = await resolve(repo);
      assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
      assert.deepEqual(
        hub.cdnLog.map((entry) => entry.range),
        [undefined, 'bytes=700-', 'bytes=1400-'],
      );
    });
  }

  it('removes a symlink planted at the partial file name instead of writing through it', async () => {
    const victim = join(root, 'victim.txt');
    await writeFile(victim, 'keep me');
    await mkdir(blobs(), { recursive: true });
    await symlink(victim, partial());
    const model = await resolve();
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), weights);
    assert.equal(await readFile(victim, 'utf8'), 'keep me');
  });

  it('a FIFO in the cache: offline, named as what makes the snapshot incomplete; online, replaced by the checked file', async () => {
    const model = await resolve();
    const blob = join(blobs(), sha256(weights));
    await rm(blob);
    assert.equal(spawnSync('mkfifo', [blob]).status, 0);
    await assert.rejects(
      resolve(REPO, { HF_HUB_OFFLINE: '1' }),
      (error: unknown) =>
        error instanceof NetworkError &&
        /is not complete in the cache .* \(model\.safetensors is a FIFO \(named pipe\), not a regular file\)/.test(error.message),
    );
    const again = await resolve();
    assert.deepEqual(await readFile(join(again.dir, 'model.safetensors')), weights);
    assert.equal(again.dir, model.dir);
  });

  it('refuses a FIFO at the partial file name, at once', async () => {
    await mkdir(blobs(), { recursive: true });
    assert.equal(spawnSync('mkfifo', [partial()]).status, 0);
    await assert.rejects(
      resolve(),
      (error: unknown) =>
        error instanceof NetworkError && /\.incomplete" is a FIFO \(named pipe\), not a partial download; remove it and run again/.test(error.message),
    );
    assert.ok((await lstat(partial())).isFIFO(), 'left for the user to look at');
  });
});
