/**
 * Issue 16, class 3: a Hub that never finishes must not hold a run forever. Headers that do not
 * come, a transfer that stops, a server that trickles slower than the stall timeout: each ends
 * in a NetworkError saying "timed out", within a bounded time, with no ref written and the
 * partial download kept for the next run to resume. SIGTERM (and SIGINT, the same handler) stops
 * a download at once.
 * The timeouts are made short through RESID_NORMS_HUB_TIMEOUT_MS / _STALL_TIMEOUT_MS; a stall
 * window must bring RESID_NORMS_HUB_STALL_BYTES (default 1024).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { ExitCode, NetworkError } from '../../src/errors.js';
import { resolveModel } from '../../src/models/resolve-model.js';
import { API_FAULT, FakeHub, type Fault } from '../support/fake-hub.js';
import { CLI } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const SHA = createHash('sha1').update('timeouts').digest('hex');
const REPO = 'test-org/slow-gpt2';

/** A fake Hub of its own, with these faults, and an empty cache: the cases run side by side. */
interface SlowHub {
  hub: FakeHub;
  cache: string;
  env: (extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
}

// The cases wait on timeouts, not on the CPU: they run concurrently, each with a Hub of its own.
describe('Hub timeouts (fake Hub on 127.0.0.1 with slow, trickling and delayed-header modes)', { concurrency: true }, () => {
  let root: string;
  let files: Map<string, Buffer>;
  const reporter = createSilentReporter();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hub-slow-'));
    const tiny = await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    files = new Map<string, Buffer>();
    for (const name of await readdir(tiny.dir)) files.set(name, await readFile(join(tiny.dir, name)));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  async function withSlowHub(faults: Record<string, Fault>, test: (slow: SlowHub) => Promise<void>): Promise<void> {
    const hub = new FakeHub();
    hub.repos.set(REPO, { sha: SHA, files });
    for (const [file, fault] of Object.entries(faults)) hub.faults.set(file, fault);
    await hub.start();
    const cache = await mkdtemp(join(root, 'cache-'));
    const env = (extra: NodeJS.ProcessEnv = {}) => ({
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: cache,
      RESID_NORMS_HUB_RETRY_MS: '5',
      RESID_NORMS_HUB_TIMEOUT_MS: '400',
      RESID_NORMS_HUB_STALL_TIMEOUT_MS: '400',
      ...extra,
    });
    try {
      await test({ hub, cache, env });
    } finally {
      await hub.stop();
    }
  }

  const timeouts: Array<{ name: string; file: string; fault: Fault; message: RegExp }> = [
    {
      name: 'headers of the commit lookup that never come',
      file: API_FAULT,
      fault: { delayHeadersMs: 20_000 },
      message: /timed out for "test-org\/slow-gpt2" \(no answer within 0\.4 s\)/,
    },
    {
      name: 'headers of the weights that never come',
      file: 'model.safetensors',
      fault: { delayHeadersMs: 20_000 },
      message: /timed out for "test-org\/slow-gpt2\/model\.safetensors" \(no answer within 0\.4 s\)/,
    },
    {
      name: 'a transfer that stops after 100 bytes',
      file: 'model.safetensors',
      fault: { stallAfterBytes: 100 },
      message: /timed out for "test-org\/slow-gpt2\/model\.safetensors" \(no data for 0\.4 s\)/,
    },
    {
      name: 'a server that sends a byte every 0.8 s',
      file: 'config.json',
      fault: { trickle: { bytes: 1, everyMs: 800 } },
      message: /timed out for "test-org\/slow-gpt2\/config\.json" \(no data for 0\.4 s\)/,
    },
    {
      name: 'a server that trickles a byte every 50 ms (never silent for a whole window)',
      file: 'model.safetensors',
      fault: { trickle: { bytes: 1, everyMs: 50 } },
      message: /timed out for "test-org\/slow-gpt2\/model\.safetensors" \(only \d+ bytes in 0\.4 s \(a trickle; at least 1024 expected\)\)/,
    },
  ];
  for (const { name, file, fault, message } of timeouts) {
    it(`times out ${name}`, () =>
      withSlowHub({ [file]: fault }, async ({ cache, env }) => {
        const started = Date.now();
        await assert.rejects(resolveModel(REPO, { reporter, env: env() }), (error: unknown) => {
          assert.ok(error instanceof NetworkError, String(error));
          assert.match(error.message, message);
          assert.match(error.message, /RESID_NORMS_HUB_TIMEOUT_MS \/ RESID_NORMS_HUB_STALL_TIMEOUT_MS/);
          return true;
        });
        assert.ok(Date.now() - started < 5_000, `gave up after ${Date.now() - started} ms`);
        const folder = join(cache, 'models--test-org--slow-gpt2');
        await assert.rejects(readFile(join(folder, 'refs', 'main')), 'no ref is written for an unfinished download');
      }));
  }

  it('keeps a stalled partial download, and the next run resumes it', () =>
    withSlowHub({ 'model.safetensors': { stallAfterBytes: 1000 } }, async ({ hub, cache, env }) => {
      await assert.rejects(resolveModel(REPO, { reporter, env: env() }), /timed out/);
      const blobs = await readdir(join(cache, 'models--test-org--slow-gpt2', 'blobs'));
      assert.ok(
        blobs.some((name) => name.endsWith('.incomplete')),
        blobs.join(', '),
      );
      hub.faults.clear();
      hub.log.length = 0;
      const model = await resolveModel(REPO, { reporter, env: env() });
      assert.equal(model.revision, SHA);
      assert.ok(
        hub.log.some((request) => request.url.endsWith('/model.safetensors') && request.range === 'bytes=1000-'),
        'the rerun asks for the rest only',
      );
    }));

  it('does not time out a slow transfer that keeps moving', () =>
    withSlowHub({ 'config.json': { trickle: { bytes: 64, everyMs: 50 } } }, async ({ env }) => {
      const model = await resolveModel(REPO, { reporter, env: env({ RESID_NORMS_HUB_STALL_TIMEOUT_MS: '1000' }) });
      assert.equal(model.revision, SHA);
    }));

  it('counts a trickle as moving when each window brings enough bytes', () =>
    // ~1.5 s in all, longer than a window
    withSlowHub({ 'config.json': { trickle: { bytes: 8, everyMs: 20 } } }, async ({ env }) => {
      const model = await resolveModel(REPO, { reporter, env: env({ RESID_NORMS_HUB_STALL_TIMEOUT_MS: '1000', RESID_NORMS_HUB_STALL_BYTES: '8' }) });
      assert.equal(model.revision, SHA);
    }));

  it('refuses a timeout that is not a number of milliseconds', () =>
    withSlowHub({}, async ({ env }) => {
      await assert.rejects(
        resolveModel(REPO, { reporter, env: env({ RESID_NORMS_HUB_STALL_TIMEOUT_MS: 'soon' }) }),
        /RESID_NORMS_HUB_STALL_TIMEOUT_MS "soon" is not a number of milliseconds from 1 to 3600000/,
      );
    }));

  // One signal as a real process: SIGTERM, what job schedulers and CI send. SIGINT reaches the
  // same handler (src/cli/stop-on-signals.ts), sent to a real process in test/cli/interrupt.test.ts.
  it(`stops measure at once on SIGTERM during a download that hangs, exit ${ExitCode.interrupted}`, () =>
    withSlowHub({ 'model.safetensors': { stallAfterBytes: 100 } }, async ({ hub, env }) => {
      const work = await mkdtemp(join(root, 'sigterm-'));
      await writeFile(join(work, 'p.txt'), 'hello\n');
      const child = spawn(process.execPath, [CLI, 'measure', '--model', REPO, '--prompts', join(work, 'p.txt'), '--out', join(work, 'out', 'r.json')], {
        env: { ...process.env, ...env({ RESID_NORMS_HUB_STALL_TIMEOUT_MS: '600000', RESID_NORMS_HUB_TIMEOUT_MS: '600000' }) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      try {
        for (let waited = 0; !hub.log.some((request) => request.url.endsWith('/model.safetensors') && request.range === undefined); waited += 20) {
          assert.ok(waited < 30_000 && child.exitCode === null, `the download never started:\n${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await new Promise((resolve) => setTimeout(resolve, 200)); // the transfer is hanging now
        const signalledAt = Date.now();
        child.kill('SIGTERM');
        const code = await exited;
        assert.equal(code, ExitCode.interrupted, stderr);
        assert.ok(Date.now() - signalledAt < 5_000, `stopped ${Date.now() - signalledAt} ms after SIGTERM`);
        const last = stderr.trimEnd().split('\n').at(-1)!;
        assert.match(
          last,
          /^resid-norms: SIGTERM while downloading "test-org\/slow-gpt2@main"; finished files stay in the cache and a partial one resumes: run the same command again$/,
        );
        await assert.rejects(readdir(join(work, 'out')), 'no results file and no checkpoint');
      } finally {
        clearTimeout(killer);
        child.kill('SIGKILL');
      }
    }));
});
