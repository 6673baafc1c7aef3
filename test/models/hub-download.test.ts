import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure } from '../../src/commands/measure.js';
import { analyzeMechanisms } from '../../src/commands/mechanisms.js';
import { ModelError, NetworkError } from '../../src/errors.js';
import { resolveModel } from '../../src/models/resolve-model.js';
import { readMeasurement } from '../../src/results/read-measurement.js';
import { encodeSafetensors } from '../support/safetensors-writer.js';
import { FakeHub, type FakeRepo } from '../support/fake-hub.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';

const SHA = 'a'.repeat(8) + createHash('sha1').update('tiny').digest('hex').slice(8);
const REPO = 'test-org/tiny-gpt2';
/** A parallel-residual model (no resid_mid). */
const NEOX_REPO = 'test-org/tiny-pythia';

async function repoFromFolder(dir: string, sha: string): Promise<FakeRepo> {
  const files = new Map<string, Buffer>();
  for (const name of await readdir(dir)) files.set(name, await readFile(join(dir, name)));
  return { sha, files };
}

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('Hub downloads into the Hugging Face cache (local fake Hub on 127.0.0.1)', () => {
  let root: string;
  let hub: FakeHub;
  let cache: string;
  let env: NodeJS.ProcessEnv;
  const reporter = createSilentReporter();
  const resolve = (spec: string, extraEnv: NodeJS.ProcessEnv = {}) => resolveModel(spec, { reporter, env: { ...env, ...extraEnv } });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hub-'));
    const tiny = await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    hub = new FakeHub();
    hub.repos.set(REPO, await repoFromFolder(tiny.dir, SHA));
    const neox = await writeTinyGptNeox(join(root, 'neox'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    hub.repos.set(NEOX_REPO, await repoFromFolder(neox.dir, SHA));
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    cache = await mkdtemp(join(root, 'cache-'));
    env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, RESID_NORMS_HUB_RETRY_MS: '5' };
    hub.log.length = 0;
    hub.faults.clear();
  });

  it('resolves the sha first, writes refs/main, and links snapshot files to blobs named by their etag', async () => {
    const model = await resolve(REPO);
    const folder = join(cache, 'models--test-org--tiny-gpt2');
    assert.equal(model.revision, SHA);
    assert.equal(model.dir, join(folder, 'snapshots', SHA));
    assert.equal((await readFile(join(folder, 'refs', 'main'), 'utf8')).trim(), SHA);
    const weights = await readFile(join(model.dir, 'model.safetensors'));
    const link = await readlink(join(model.dir, 'model.safetensors'));
    assert.equal(link, join('..', '..', 'blobs', createHash('sha256').update(weights).digest('hex')));
    assert.ok((await lstat(join(model.dir, 'config.json'))).isSymbolicLink());
    assert.deepEqual((await readdir(model.dir)).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    assert.ok(!(await readdir(join(folder, 'blobs'))).some((name) => name.endsWith('.incomplete')));
    assert.equal(hub.log[0]!.url, `/api/models/${REPO}/revision/main`, 'the commit is resolved before any file');
  });

  it('makes no request on a second run, and works with HF_HUB_OFFLINE=1 from the cache', async () => {
    await resolve(REPO);
    const requests = hub.log.length;
    assert.ok(requests > 0);
    await resolve(REPO);
    await resolve(REPO, { HF_HUB_OFFLINE: '1' });
    await resolve(`${REPO}@${SHA}`, { HF_HUB_OFFLINE: '1' });
    assert.equal(hub.log.length, requests);
  });

  it('HF_HUB_OFFLINE=1 with an empty cache says what is missing', async () => {
    await assert.rejects(resolve(REPO, { HF_HUB_OFFLINE: '1' }), (error: unknown) => {
      assert.ok(error instanceof NetworkError);
      assert.match(error.message, /HF_HUB_OFFLINE is set and "test-org\/tiny-gpt2@main" is not complete in the cache/);
      return true;
    });
    assert.equal(hub.log.length, 0);
  });

  it('reports a repo that does not exist', async () => {
    await assert.rejects(resolve('test-org/nope'), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /model repo "test-org\/nope" \(revision "main"\) not found/);
      return true;
    });
  });

  it('explains gated repos: 401 without a token, 403 with a token lacking access', async () => {
    hub.repos.set('test-org/gated', { ...hub.repos.get(REPO)!, gatedTokens: ['hf_allowed'] });
    await assert.rejects(
      resolve('test-org/gated'),
      /"test-org\/gated" is gated \(HTTP 401\): accept its terms on the Hub, then run `huggingface-cli login` or set HF_TOKEN/,
    );
    await assert.rejects(
      resolve('test-org/gated', { HF_TOKEN: 'hf_other' }),
      /"test-org\/gated" is gated and the token from HF_TOKEN has no access \(HTTP 403\)/,
    );
    const model = await resolve('test-org/gated', { HF_TOKEN: 'hf_allowed' });
    assert.equal(model.revision, SHA);
    assert.ok(hub.log.some((r) => r.authorization === 'Bearer hf_allowed'));
  });

  it('says when the Hub cannot be reached', async () => {
    const closed = await closedPort();
    await assert.rejects(resolve(REPO, { HF_ENDPOINT: `http://127.0.0.1:${closed}` }), (error: unknown) => {
      assert.ok(error instanceof NetworkError);
      assert.match(error.message, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\).*HF_HUB_OFFLINE=1`));
      return true;
    });
  });

  it('downloads an index and its shards, PyTorch checkpoints only when there are no safetensors, and refuses repos without weights', async () => {
    const base = hub.repos.get(REPO)!;
    const files = new Map(base.files);
    files.delete('model.safetensors');
    files.set('model-00001-of-00002.safetensors', encodeSafetensors([{ name: 'x', shape: [1], data: Float32Array.of(1) }]));
    files.set('model-00002-of-00002.safetensors', encodeSafetensors([{ name: 'y', shape: [1], data: Float32Array.of(2) }]));
    files.set(
      'model.safetensors.index.json',
      Buffer.from(JSON.stringify({ weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } })),
    );
    files.set('pytorch_model.bin', Buffer.from('pickle'));
    hub.repos.set('test-org/sharded', { sha: SHA, files });
    const model = await resolve('test-org/sharded');
    assert.ok((await readdir(model.dir)).includes('model-00002-of-00002.safetensors'));
    assert.ok(!hub.log.some((r) => r.url.endsWith('pytorch_model.bin')), 'pickles are never downloaded');

    const pickleOnly = new Map(base.files);
    pickleOnly.delete('model.safetensors');
    pickleOnly.set('pytorch_model.bin', Buffer.from('pickle'));
    hub.repos.set('test-org/pickled', { sha: SHA, files: pickleOnly });
    const pickled = await resolve('test-org/pickled');
    assert.ok((await readdir(pickled.dir)).includes('pytorch_model.bin'), 'read later by the restricted unpickler (src/models/torch/)');

    const noWeights = new Map(base.files);
    noWeights.delete('model.safetensors');
    noWeights.set('tf_model.h5', Buffer.from('h5'));
    hub.repos.set('test-org/no-weights', { sha: SHA, files: noWeights });
    await assert.rejects(
      resolve('test-org/no-weights'),
      /"test-org\/no-weights" has no weights to read: expected model\.safetensors .* it has tf_model\.h5, which are not read/,
    );
  });

  it('retries a 500 and resumes a dropped connection, ending with a verified blob', async () => {
    hub.faults.set('model.safetensors', { failTimes: 2, dropAfterBytes: 100, dropTimes: 1 });
    const model = await resolve(REPO);
    const expected = hub.repos.get(REPO)!.files.get('model.safetensors')!;
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), expected);
    const ranged = hub.log.filter((r) => r.url.endsWith('model.safetensors'));
    assert.ok(ranged.length >= 4, `expected retries, saw ${ranged.length} requests`);
  });

  it('resumes a partial download left by an earlier process, and verifies the whole file', async () => {
    const expected = hub.repos.get(REPO)!.files.get('model.safetensors')!;
    const blobs = join(cache, 'models--test-org--tiny-gpt2', 'blobs');
    await mkdir(blobs, { recursive: true });
    await writeFile(join(blobs, `${createHash('sha256').update(expected).digest('hex')}.incomplete`), expected.subarray(0, 1000));
    const model = await resolve(REPO);
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), expected);
    assert.ok(
      hub.log.some((r) => r.url.endsWith('model.safetensors') && r.range === 'bytes=1000-'),
      'only the missing bytes are requested',
    );
  });

  it('never keeps a corrupt download, and a rerun succeeds', async () => {
    const expected = hub.repos.get(REPO)!.files.get('model.safetensors')!;
    const corrupt = Buffer.from(expected);
    corrupt[corrupt.length - 1]! ^= 0xff;
    hub.faults.set('model.safetensors', { corruptWith: corrupt });
    await assert.rejects(resolve(REPO), /sha256 that differs from the Hub.*removed/);
    const blobs = await readdir(join(cache, 'models--test-org--tiny-gpt2', 'blobs'));
    assert.ok(!blobs.includes(createHash('sha256').update(expected).digest('hex')));
    assert.ok(!blobs.some((name) => name.endsWith('.incomplete')));
    hub.faults.clear();
    const model = await resolve(REPO);
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), expected);
  });

  it('refuses a download of the wrong length without caching it, and a rerun succeeds', async () => {
    hub.faults.set('model.safetensors', { truncateTo: 100 });
    await assert.rejects(resolve(REPO), (error: unknown) => {
      assert.ok(error instanceof NetworkError);
      assert.match(
        error.message,
        /download of "test-org\/tiny-gpt2\/model\.safetensors" has 100 bytes instead of \d+; the partial file was removed, run again to retry/,
      );
      return true;
    });
    const folder = join(cache, 'models--test-org--tiny-gpt2');
    assert.ok(!(await readdir(join(folder, 'blobs'))).some((name) => name.endsWith('.incomplete')));
    await assert.rejects(readFile(join(folder, 'refs', 'main')), 'no ref before every file is in place');
    hub.faults.clear();
    const model = await resolve(REPO);
    assert.deepEqual(await readFile(join(model.dir, 'model.safetensors')), hub.repos.get(REPO)!.files.get('model.safetensors'));
  });

  it('measure (and mechanisms) refuse flags and prompts that config.json and the tokenizer rule out before downloading the weights', async () => {
    const { writeFile } = await import('node:fs/promises');
    const text = join(root, 'ok.txt');
    await writeFile(text, 'Hi there\n');
    const outOfVocab = join(root, 'ids.jsonl');
    await writeFile(outOfVocab, '{"ids": [1, 2]}\n{"ids": [3, 99999]}\n');
    const base = {
      model: REPO,
      outPath: join(root, 'early.json'),
      batchSize: 2,
      prependBos: true,
      exclusions: true,
      device: 'cpu' as const,
      threads: 1,
      refresh: false,
      env,
    };
    const cases = [
      { request: { ...base, promptsPath: text, maxTokens: 999 }, message: /--max-tokens 999 exceeds the context length .*\(32\)/ },
      { request: { ...base, promptsPath: text, massiveDims: [16], diagnostics: ['massive' as const] }, message: /--massive-dims 16 is not a dimension/ },
      { request: { ...base, promptsPath: outOfVocab }, message: /prompt 2 \(line 2\) has token id 99999/ },
      {
        request: { ...base, model: NEOX_REPO, promptsPath: text, hooks: ['resid_mid' as const] },
        message:
          /--hooks resid_mid not available for gpt_neox \(parallel-residual blocks have no resid_mid\); available: resid_pre, attn_out, mlp_out, resid_post/,
      },
      {
        request: { ...base, promptsPath: text, maxMemory: { bytes: 1e6, source: '--max-memory' } },
        message:
          /--max-memory \(1 MB\) is too small for this model: one block's float32 weights alone need at least .* \(from config\.json, before any weight is downloaded\); give --max-memory \S+ or more$/,
      },
    ];
    for (const { request, message } of cases) {
      hub.log.length = 0;
      const fresh = { ...env, HF_HUB_CACHE: await mkdtemp(join(root, 'cache-')) }; // so config.json is fetched again
      await assert.rejects(measure({ ...request, env: fresh }, reporter), message);
      const fetched = hub.log.map((entry) => entry.url);
      assert.ok(
        fetched.some((url) => url.endsWith('/config.json')),
        `config.json was read from the Hub: ${fetched.join(' ')}`,
      );
      assert.deepEqual(
        fetched.filter((url) => url.endsWith('.safetensors')),
        [],
        'no weights downloaded',
      );
    }
    hub.log.length = 0;
    const mechanismsEnv = { ...env, HF_HUB_CACHE: await mkdtemp(join(root, 'cache-')) };
    const mechanisms = {
      model: REPO,
      promptsPath: text,
      outPath: join(root, 'early.mechanisms.json'),
      samples: 4,
      seed: 0,
      batchSize: 2,
      maxTokens: 999,
      prependBos: true,
      device: 'cpu' as const,
      threads: 1,
      refresh: false,
      env: mechanismsEnv,
    };
    await assert.rejects(analyzeMechanisms(mechanisms, reporter), /--max-tokens 999 exceeds/);
    assert.deepEqual(
      hub.log.map((entry) => entry.url).filter((url) => url.endsWith('.safetensors')),
      [],
      'mechanisms: no weights downloaded',
    );
    // The same request with good flags goes on to the weights.
    await measure({ ...base, promptsPath: text }, reporter);
    assert.ok(hub.log.some((entry) => entry.url.endsWith('/model.safetensors')));
  });

  it('measure records the commit sha of a Hub model', async () => {
    const outPath = join(root, 'hub-results.json');
    const promptsPath = join(root, 'p.txt');
    await (await import('node:fs/promises')).writeFile(promptsPath, 'Hi there\n');
    await measure(
      { model: `${REPO}@main`, promptsPath, outPath, batchSize: 2, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false, env },
      reporter,
    );
    const result = await readMeasurement(outPath);
    assert.equal(result.model.revision, SHA);
    assert.equal(result.model.id, `${REPO}@main`);
  });
});
