/**
 * One Hugging Face cache shared by processes that download at the same time (the tasks of a
 * job array): two checkpoints of one model share their config and tokenizer blobs, so two tasks
 * starting together fetch the same blob at once. Each writes a partial file of its own; both
 * end with the checked file in place. A partial a killed process of this host left is resumed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveModel } from '../../src/models/resolve-model.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { FakeHub, fakeSha, snapshotFromFolder } from '../support/fake-hub.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const REPO = 'test-org/shared';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('a Hugging Face cache shared by concurrent downloads', () => {
  let root: string;
  let hub: FakeHub;
  let weights: Buffer;
  const reporter = createSilentReporter();
  const resolve = (spec: string, cache: string) =>
    resolveModel(spec, {
      reporter,
      env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, RESID_NORMS_HUB_RETRY_MS: '1', HF_TOKEN: '', HF_TOKEN_PATH: join(root, 'no-token') },
    });
  const blobs = (cache: string) => join(cache, 'models--test-org--shared', 'blobs');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hub-shared-'));
    const revisions: Record<string, { sha: string; files: Map<string, Buffer> }> = {};
    for (const [index, revision] of ['step0', 'step1'].entries()) {
      const tiny = await writeTinyGpt2(join(root, revision), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32, seed: 30 + index });
      revisions[revision] = await snapshotFromFolder(tiny.dir, fakeSha(revision));
    }
    weights = revisions.step0!.files.get('model.safetensors')!;
    hub = new FakeHub();
    hub.repos.set(REPO, { sha: fakeSha('main'), files: revisions.step0!.files, revisions });
    // The shared small files trickle, so the two downloads of each overlap.
    // config.json is asked first: each process waits for its headers long enough for the other's request to come in.
    hub.faults.set('config.json', { delayHeadersMs: 500, trickle: { bytes: 32, everyMs: 10 } });
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('two processes fetching checkpoints that share blobs, at once, both end with every file in place and no partial file left', async () => {
    const cache = join(root, 'cache-two');
    hub.log.length = 0;
    // Two processes, as two tasks of an array are; each resolves one checkpoint into the one cache.
    const script = `import { resolveModel } from ${JSON.stringify(new URL('../../src/models/resolve-model.js', import.meta.url).href)};
import { createSilentReporter } from ${JSON.stringify(new URL('../../src/messages/reporter.js', import.meta.url).href)};
await resolveModel(process.argv[1], { reporter: createSilentReporter(), env: process.env });`;
    const env = {
      ...process.env,
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: cache,
      RESID_NORMS_HUB_RETRY_MS: '1',
      HF_TOKEN: '',
      HF_TOKEN_PATH: join(root, 'no-token'),
    };
    const results = await Promise.all(
      [`${REPO}@step0`, `${REPO}@step1`].map(
        (spec) =>
          new Promise<{ code: number | null; stderr: string }>((done) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script, spec], { env, stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (chunk) => (stderr += chunk));
            child.on('close', (code) => done({ code, stderr }));
          }),
      ),
    );
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    // Each process fetched each file once: no partial file was spoilt by the other and fetched again.
    const fetched = (name: string) => hub.log.filter((entry) => entry.url.endsWith(`/${name}`) && !entry.url.startsWith('/api/')).length;
    assert.equal(fetched('config.json'), 2, JSON.stringify(hub.log.map((entry) => [entry.url, entry.range])));
    const left = (await readdir(blobs(cache))).filter((name) => name.includes('.incomplete'));
    assert.deepEqual(left, [], 'no partial file left');
    for (const revision of ['step0', 'step1']) {
      const resolved = await resolve(`${REPO}@${revision}`, cache); // from the cache now
      const files = hub.repos.get(REPO)!.revisions![revision]!.files;
      for (const name of ['config.json', 'tokenizer.json', 'model.safetensors']) {
        assert.ok((await readFile(join(resolved.dir, name))).equals(files.get(name)!), `${revision}/${name}`);
      }
    }
  });

  it('resumes the partial file a killed process of this host left, and removes what other dead processes left', async () => {
    const cache = join(root, 'cache-orphan');
    await mkdir(blobs(cache), { recursive: true });
    const dead = 2 ** 22 + 12345; // above Linux's default pid_max (4194304 = 2^22): never a live process
    const half = Math.floor(weights.length / 2);
    await writeFile(join(blobs(cache), `${sha256(weights)}.incomplete.${hostname()}.${dead}.0123abcd`), weights.subarray(0, half));
    await writeFile(join(blobs(cache), `${sha256(weights)}.incomplete.${hostname()}.${dead + 1}.4567cdef`), weights.subarray(0, 10));
    await writeFile(join(blobs(cache), `${sha256(weights)}.incomplete.other-node.${dead}.89abcdef`), weights.subarray(0, 10));
    hub.log.length = 0;
    const resolved = await resolve(`${REPO}@step0`, cache);
    assert.ok((await readFile(join(resolved.dir, 'model.safetensors'))).equals(weights));
    assert.deepEqual(
      hub.log.filter((entry) => entry.url.endsWith('/model.safetensors')).map((entry) => entry.range),
      [`bytes=${half}-`],
    );
    assert.deepEqual(
      (await readdir(blobs(cache))).filter((name) => name.includes('.incomplete')),
      [`${sha256(weights)}.incomplete.other-node.${dead}.89abcdef`],
      "another host's cannot be checked and is left",
    );
  });
});
