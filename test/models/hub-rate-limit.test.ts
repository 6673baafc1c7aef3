/**
 * Issue 25: HTTP 429. The Hub's RateLimit / RateLimit-Policy headers (and a proxy's Retry-After)
 * parsed as huggingface_hub parses them; the retry schedule checked with a recorded sleep (the
 * named reset plus one second, at most RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS, at most three more
 * tries), so no test waits the real seconds; end to end, a Hub that rate-limits twice is
 * waited out and the model downloaded.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveModel } from '../../src/models/resolve-model.js';
import { describeRateLimit, parseRateLimit, rateLimitDelayMs } from '../../src/models/hub/rate-limit.js';
import { createRetryingFetch } from '../../src/models/hub/retrying-fetch.js';
import { readHubSettings } from '../../src/models/hub/hub-settings.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { API_FAULT, FakeHub, fakeSha } from '../support/fake-hub.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const answer = (status: number, headers: Record<string, string> = {}) => new Response(status === 204 ? null : 'x', { status, headers });

/** A fetch that gives these answers in turn, and a sleep that records instead of waiting. */
function scripted(answers: Response[]) {
  const waits: number[] = [];
  let calls = 0;
  const inner = (async () => answers[Math.min(calls++, answers.length - 1)]!) as typeof fetch;
  const sleep = async (ms: number) => {
    waits.push(ms);
  };
  return {
    waits,
    calls: () => calls,
    fetch: (options: { rateLimitWaitMs?: number } = {}) =>
      createRetryingFetch({ retries: 3, baseDelayMs: 10, rateLimitRetries: 3, rateLimitWaitMs: options.rateLimitWaitMs ?? 300_000, sleep }, inner),
  };
}

describe('the rate limit (HTTP 429)', () => {
  it('reads RateLimit and RateLimit-Policy as the Hub sends them, and Retry-After as seconds or a date', () => {
    const hub = parseRateLimit(new Headers({ ratelimit: '"api";r=0;t=55', 'ratelimit-policy': '"fixed window";"api";q=500;w=300' }));
    assert.deepEqual(hub, { bucket: 'api', remaining: 0, resetSeconds: 55, limit: 500, windowSeconds: 300 });
    assert.equal(describeRateLimit(hub), '0 of 500 api requests left in this 300 s window, reset in 55 s');
    assert.deepEqual(parseRateLimit(new Headers({ 'retry-after': '120' })), { resetSeconds: 120 });
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.deepEqual(parseRateLimit(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:01:30 GMT' }), now), { resetSeconds: 90 });
    assert.equal(parseRateLimit(new Headers({ 'retry-after': 'soon', ratelimit: 'garbage' })), undefined);
    assert.equal(parseRateLimit(new Headers({ ratelimit: '"api";r=3;t=9', 'retry-after': '100' }))!.resetSeconds, 9, 'RateLimit first');
  });

  it('waits the named reset plus one second, never more than the cap, and falls back to backoff', () => {
    assert.equal(rateLimitDelayMs({ resetSeconds: 55 }, 10, 300_000), 56_000);
    assert.equal(rateLimitDelayMs({ resetSeconds: 55 }, 10, 5_000), 5_000);
    assert.equal(rateLimitDelayMs(undefined, 40, 300_000), 40);
  });

  it('tries a 429 three more times after the named delays, then gives the last answer back', async () => {
    const limited = () => answer(429, { ratelimit: '"api";r=0;t=55', 'ratelimit-policy': '"fixed window";"api";q=500;w=300' });
    const run = scripted([limited(), limited(), limited(), limited(), answer(200)]);
    const response = await run.fetch()('http://hub.invalid/api');
    assert.equal(response.status, 429);
    assert.equal(run.calls(), 4);
    assert.deepEqual(run.waits, [56_000, 56_000, 56_000]);
    const capped = scripted([limited(), answer(200)]);
    assert.equal((await capped.fetch({ rateLimitWaitMs: 20 })('http://hub.invalid/api')).status, 200);
    assert.deepEqual(capped.waits, [20]);
  });

  it('backs off 5xx answers exponentially, counted apart from 429s, and stops waiting on the signal', async () => {
    const run = scripted([answer(503), answer(429, { 'retry-after': '2' }), answer(500), answer(200)]);
    assert.equal((await run.fetch()('http://hub.invalid/x')).status, 200);
    assert.deepEqual(run.waits, [10, 3_000, 20]);
    const controller = new AbortController();
    const waiting = createRetryingFetch({ retries: 3, baseDelayMs: 10, rateLimitRetries: 3, rateLimitWaitMs: 300_000 }, (async () =>
      answer(429, { 'retry-after': '300' })) as typeof fetch);
    const started = Date.now();
    setTimeout(() => controller.abort('SIGTERM'), 30);
    await assert.rejects(waiting('http://hub.invalid/x', { signal: controller.signal }), (error: unknown) => (error as Error).name === 'AbortError');
    assert.ok(Date.now() - started < 2_000, 'a 301 s wait ends at once on SIGTERM');
  });

  it('RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS is read, 300000 by default, and refused when not milliseconds', () => {
    assert.equal(readHubSettings({ HF_TOKEN_PATH: '/nonexistent' }).rateLimitWaitMs, 300_000);
    assert.equal(readHubSettings({ HF_TOKEN_PATH: '/nonexistent', RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS: '25' }).rateLimitWaitMs, 25);
    assert.throws(
      () => readHubSettings({ RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS: 'a minute' }),
      /RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS "a minute" is not a number of milliseconds/,
    );
  });
});

describe('a Hub that rate-limits, end to end', () => {
  let root: string;
  let hub: FakeHub;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hub-429-'));
    const tiny = await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    const files = new Map<string, Buffer>();
    for (const name of await readdir(tiny.dir)) files.set(name, await readFile(join(tiny.dir, name)));
    hub = new FakeHub();
    hub.repos.set('test-org/busy', { sha: fakeSha('busy'), files });
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('waits out two 429s (the named 1 s cut to the 20 ms cap) and downloads the model', async () => {
    hub.faults.set(API_FAULT, { rateLimitTimes: 2 });
    const env = {
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: join(root, 'cache'),
      HF_TOKEN: '',
      HF_TOKEN_PATH: join(root, 'no-token'),
      RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS: '20',
    };
    const model = await resolveModel('test-org/busy', { reporter: createSilentReporter(), env });
    assert.equal(model.revision, fakeSha('busy'));
    assert.equal(hub.log.filter((entry) => entry.url === '/api/models/test-org/busy/revision/main').length, 3, 'the listing asked three times');
  });
});
