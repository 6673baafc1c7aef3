/**
 * Issues 25 and 26 (class 3): every way the Hub (or something posing as it) can refuse or
 * misbehave, run through `measure` as a user would: the exit code, one line on stderr naming
 * the repo or file and what to do, no stack trace, nothing written outside the cache, and in
 * the cache only partial files and blobs whose bytes match their name (no ref, no wrong file).
 * Each case gets an empty cache; the waits of 429 and the time bounds are made short through
 * the RESID_NORMS_HUB_* settings, never the real seconds the server names.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { API_FAULT, FakeHub, type Fault, type FakeRepo } from '../support/fake-hub.js';
import { refusedCacheProblems } from '../support/cache-check.js';
import { runCli } from '../support/run-cli.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const REPO = 'test-org/tiny';
const SHA = createHash('sha1').update('refusals').digest('hex');

interface RefusalCase {
  name: string;
  model?: string;
  faults?: Record<string, Fault>;
  repo?: Partial<FakeRepo>;
  env?: NodeJS.ProcessEnv;
  code: number;
  message: RegExp;
}

const flipLast = (bytes: Buffer) => {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1]! ^= 0xff;
  return copy;
};

describe('Hub refusals and misbehaviour: exit code, one line, nothing kept but checked blobs and partial files', () => {
  let root: string;
  let hub: FakeHub;
  let files: Map<string, Buffer>;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hub-refusals-'));
    const tiny = await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    files = new Map();
    for (const name of await readdir(tiny.dir)) files.set(name, await readFile(join(tiny.dir, name)));
    await writeFile(join(root, 'prompts.txt'), 'Hello there\n');
    hub = new FakeHub();
    hub.invalidTokens.add('hf_expired');
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  const cases: RefusalCase[] = [
    {
      name: 'a repo that does not exist, no token: 401',
      model: 'test-org/nope',
      code: ExitCode.badModel,
      message:
        /^model repo "test-org\/nope" \(revision "main"\) not found on http:\/\/127\.0\.0\.1:\d+, or gated \/ private \(run `huggingface-cli login` or set HF_TOKEN\); check the name/,
    },
    {
      name: 'a private repo, no token: the same 401',
      repo: { privateTokens: ['hf_owner'] },
      code: ExitCode.badModel,
      message: /^model repo "test-org\/tiny" \(revision "main"\) not found on .*, or gated \/ private \(run `huggingface-cli login` or set HF_TOKEN\)/,
    },
    {
      name: 'a repo that does not exist, with a token: 404',
      model: 'test-org/nope',
      env: { HF_TOKEN: 'hf_fine' },
      code: ExitCode.badModel,
      message: /^model repo "test-org\/nope" \(revision "main"\) not found on .* \(or private, and the token has no access\)/,
    },
    {
      name: 'an expired token on a public repo: 401, named as the token',
      env: { HF_TOKEN: 'hf_expired' },
      code: ExitCode.usage,
      message:
        /^http:\/\/127\.0\.0\.1:\d+ refused the access token from HF_TOKEN \(HTTP 401: "Invalid credentials in Authorization header"\) for "test-org\/tiny": it is invalid or expired; create a new one/,
    },
    {
      name: 'a gated repo, no token',
      repo: { gatedTokens: ['hf_allowed'] },
      code: ExitCode.badModel,
      message: /^"test-org\/tiny" is gated \(HTTP 401\): accept its terms on the Hub, then run `huggingface-cli login`/,
    },
    {
      name: 'a gated repo, a token without access',
      repo: { gatedTokens: ['hf_allowed'] },
      env: { HF_TOKEN: 'hf_other' },
      code: ExitCode.badModel,
      message:
        /^"test-org\/tiny" is gated and the token from HF_TOKEN has no access \(HTTP 403\); accept its terms at http:\/\/127\.0\.0\.1:\d+\/test-org\/tiny/,
    },
    {
      name: 'a small file whose git sha1 differs from its listing',
      faults: { 'tokenizer.json': { corruptWith: Buffer.alloc(0) } },
      code: ExitCode.network,
      message: /^download of "test-org\/tiny\/tokenizer\.json" has a git sha1 that differs from the Hub's; the partial file was removed, run again to retry$/,
    },
    {
      name: 'weights whose sha256 differs from the listing',
      faults: { 'model.safetensors': { corruptWith: Buffer.alloc(0) } },
      code: ExitCode.network,
      message: /^download of "test-org\/tiny\/model\.safetensors" has a sha256 that differs from the Hub's; the partial file was removed/,
    },
    {
      name: 'weights shorter than listed',
      faults: { 'model.safetensors': { truncateTo: 100 } },
      code: ExitCode.network,
      message: /^download of "test-org\/tiny\/model\.safetensors" has 100 bytes instead of \d+/,
    },
    {
      name: 'HTTP 429 on every try, exhausting the retries',
      faults: { [API_FAULT]: { rateLimitTimes: 100 } },
      code: ExitCode.network,
      message:
        /^http:\/\/127\.0\.0\.1:\d+ rate-limited the requests for "test-org\/tiny" \(HTTP 429 4 times, waited between; 0 of 500 api requests left in this 300 s window, reset in 1 s\); wait a few minutes and run again .*, or log in/,
    },
    {
      name: 'a redirect loop between resolve and the CDN',
      faults: { 'model.safetensors': { redirectLoop: true } },
      code: ExitCode.network,
      message:
        /^http:\/\/127\.0\.0\.1:\d+ redirects in a loop \(\/test-org\/tiny\/resolve\/[0-9a-f]{40}\/model\.safetensors → \/loop\/.* → \/test-org\/tiny\/resolve\/.*\) for "test-org\/tiny\/model\.safetensors"/,
    },
    {
      name: 'a weights body that never ends',
      faults: { 'model.safetensors': { endless: true } },
      code: ExitCode.network,
      message:
        /^"test-org\/tiny\/model\.safetensors": the server sent more than the \d+ bytes its listing gives; refused, run again later or check HF_ENDPOINT$/,
    },
    {
      name: 'a gzip bomb as the weights body',
      faults: { 'model.safetensors': { gzipBombBytes: 20_000_000 } },
      code: ExitCode.network,
      message: /^"test-org\/tiny\/model\.safetensors": the server sent more than the \d+ bytes its listing gives; refused/,
    },
    {
      name: 'a CDN that answers 416 to every request, a range or not',
      faults: { 'model.safetensors': { refuseRanges: 'always' } },
      code: ExitCode.network,
      message: /^http:\/\/127\.0\.0\.1:\d+ answered 416 \(range not satisfiable\) for the whole of "test-org\/tiny\/model\.safetensors"$/,
    },
    {
      name: 'a listing of the wrong shape',
      faults: { [API_FAULT]: { malformedAnswer: true } },
      code: ExitCode.network,
      message: /^http:\/\/127\.0\.0\.1:\d+: the listing of test-org\/tiny@main is not what the Hub API gives \(sha: .*\)$/,
    },
    {
      name: 'an API answer that never ends',
      faults: { [API_FAULT]: { endlessAnswer: true } },
      code: ExitCode.network,
      message:
        /^"test-org\/tiny": the answer of http:\/\/127\.0\.0\.1:\d+\/api\/models\/test-org\/tiny\/revision\/main is larger than 33554432 bytes, the most an API answer may be; refused/,
    },
  ];

  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      hub.repos.clear();
      hub.repos.set(REPO, { sha: SHA, files, ...testCase.repo });
      hub.faults.clear();
      for (const [key, fault] of Object.entries(testCase.faults ?? {})) {
        const target = testCase.faults?.[key];
        // corruptWith: Buffer.alloc(0) stands for "this file with its last byte flipped".
        hub.faults.set(key, target?.corruptWith?.length === 0 ? { corruptWith: flipLast(files.get(key)!) } : fault);
      }
      const cache = await mkdtemp(join(root, 'cache-'));
      const outside = await snapshotTree(root);
      const result = await runCli(
        ['measure', '--model', testCase.model ?? REPO, '--prompts', join(root, 'prompts.txt'), '--out', join(root, 'out', 'r.json')],
        {
          env: {
            HF_ENDPOINT: hub.url,
            HF_HUB_CACHE: cache,
            HF_TOKEN: '',
            HUGGING_FACE_HUB_TOKEN: '',
            HF_TOKEN_PATH: join(root, 'no-token'),
            RESID_NORMS_HUB_RETRY_MS: '1',
            RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS: '20',
            ...testCase.env,
          },
          timeoutMs: 60_000,
        },
      );
      assert.equal(result.code, testCase.code, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line on stderr:\n${result.stderr}`);
      assert.match(lines[0]!.replace(/^resid-norms: /, ''), testCase.message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      const changed = diffTrees(outside, await snapshotTree(root)).filter((line) => !line.startsWith(cache.slice(root.length + 1)));
      assert.deepEqual(changed, [], 'nothing written outside the cache');
      assert.deepEqual(await refusedCacheProblems(cache), [], 'the cache holds only checked blobs and partial files');
      await rm(cache, { recursive: true, force: true });
    });
  }

  // 416 handled, not refused: through the CLI, with the exit code and what the cache holds after.
  const resumes: Array<{ name: string; partial: (weights: Buffer) => Buffer; fault?: Fault; ranges: Array<string | undefined> }> = [
    { name: 'a partial file with the full size is finished without a request', partial: (weights) => weights, ranges: [] },
    {
      name: 'a partial file and a CDN that refuses ranges (416): the whole file from byte 0',
      partial: (weights) => weights.subarray(0, 1000),
      fault: { refuseRanges: true },
      ranges: ['bytes=1000-', undefined],
    },
  ];
  for (const testCase of resumes) {
    it(`resumes: ${testCase.name}`, async () => {
      hub.repos.clear();
      hub.repos.set(REPO, { sha: SHA, files });
      hub.faults.clear();
      if (testCase.fault) hub.faults.set('model.safetensors', testCase.fault);
      const cache = await mkdtemp(join(root, 'cache-'));
      const weights = files.get('model.safetensors')!;
      const blobs = join(cache, 'models--test-org--tiny', 'blobs');
      await mkdir(blobs, { recursive: true });
      await writeFile(join(blobs, `${createHash('sha256').update(weights).digest('hex')}.incomplete`), testCase.partial(weights));
      hub.log.length = 0;
      const result = await runCli(['measure', '--model', REPO, '--prompts', join(root, 'prompts.txt'), '--out', join(cache, 'out', 'r.json')], {
        env: {
          HF_ENDPOINT: hub.url,
          HF_HUB_CACHE: cache,
          HF_TOKEN: '',
          HUGGING_FACE_HUB_TOKEN: '',
          HF_TOKEN_PATH: join(root, 'no-token'),
          RESID_NORMS_HUB_RETRY_MS: '1',
        },
        timeoutMs: 60_000,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        hub.log.filter((entry) => entry.url.endsWith('/model.safetensors')).map((entry) => entry.range),
        testCase.ranges,
      );
      assert.deepEqual(
        (await readdir(blobs)).filter((name) => name.endsWith('.incomplete')),
        [],
        'the partial file became the blob',
      );
      await rm(cache, { recursive: true, force: true });
    });
  }
});
