/**
 * Issue 26, classes 3 and 5, for Hub datasets of prompts: a listing that pages forever (a next
 * page linking to itself, to another host, or simply too many pages), a file name leading out
 * of the snapshot, a FIFO in the offline cache: each refused in one line with the exit code and
 * nothing written outside the cache but partial files. With the Hub down, the cached snapshot is
 * used with a warning (a `sweep --member` task after `--prepare`). SIGTERM during the download
 * exits 130 (measure and `sweep --prepare`), within a second.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ExitCode } from '../../src/errors.js';
import { API_FAULT, FakeHub, fakeSha, type Fault } from '../support/fake-hub.js';
import { refusedCacheProblems } from '../support/cache-check.js';
import { CLI, runCli } from '../support/run-cli.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

const DATASET = 'test-org/pile';
/** A loopback port with nothing listening (port 9 would be refused by fetch itself, as a "bad port"). */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const parquet = (rows: string[]) => Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: rows, type: 'STRING' }] }));

describe('Hub datasets: bounded listings, the cache, signals', () => {
  let root: string;
  let hub: FakeHub;
  let model: string;
  const files = new Map<string, Buffer>([
    ['data/train-0.parquet', parquet(['alpha beta', 'gamma delta'])],
    ['data/train-1.parquet', parquet(['epsilon zeta'])],
  ]);
  const baseEnv = (cache: string): NodeJS.ProcessEnv => ({
    HF_ENDPOINT: hub.url,
    HF_HUB_CACHE: cache,
    HF_TOKEN: '',
    HF_TOKEN_PATH: join(root, 'no-token'),
    RESID_NORMS_HUB_RETRY_MS: '1',
  });
  const measureArgs = (out: string) => ['measure', '--model', model, '--prompts', `hf://datasets/${DATASET}`, '--out', out];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hub-dataset-'));
    model = (await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 })).dir;
    hub = new FakeHub();
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });
  const serve = (extra: Map<string, Buffer> = new Map()) => hub.datasets.set(DATASET, { sha: fakeSha('pile'), files: new Map([...files, ...extra]) });

  const refusals: Array<{ name: string; fault?: Fault; pageSize?: number; extra?: Map<string, Buffer>; message: RegExp }> = [
    {
      name: 'a next page that is the page itself',
      fault: { treeLinks: 'self' },
      message: /^http:\/\/127\.0\.0\.1:\d+: the listing of dataset test-org\/pile@main links to a page it gave already \(.*\/tree\/[0-9a-f]{40}\), a loop$/,
    },
    {
      name: 'a next page on another host',
      fault: { treeLinks: 'elsewhere' },
      message:
        /^http:\/\/127\.0\.0\.1:\d+: the listing of dataset test-org\/pile@main links its next page to another host \(http:\/\/127\.0\.0\.1:\d+\); refused$/,
    },
    {
      name: 'more pages than the bound',
      pageSize: 1,
      extra: new Map(Array.from({ length: 210 }, (_, i) => [`notes/${i}.txt`, Buffer.from('x')])),
      message: /^http:\/\/127\.0\.0\.1:\d+: the listing of dataset test-org\/pile@main runs to more than 200 pages; give a narrower path$/,
    },
    {
      name: 'a file name leading out of the snapshot',
      extra: new Map([['../escape.parquet', parquet(['x'])]]),
      message:
        /^http:\/\/127\.0\.0\.1:\d+: the listing of dataset test-org\/pile@main lists a file "\.\.\/escape\.parquet", refused: it has an empty, "\." or "\.\." part/,
    },
  ];
  for (const testCase of refusals) {
    it(`refuses ${testCase.name}: exit 5, one line, nothing kept`, async () => {
      serve(testCase.extra);
      hub.faults.clear();
      if (testCase.fault) hub.faults.set(API_FAULT, testCase.fault);
      hub.treePageSize = testCase.pageSize ?? 1000;
      const cache = await mkdtemp(join(root, 'cache-'));
      const outside = await snapshotTree(root);
      try {
        const result = await runCli(measureArgs(join(root, 'out', 'r.json')), { env: baseEnv(cache), timeoutMs: 60_000 });
        assert.equal(result.code, ExitCode.network, result.stderr);
        const lines = result.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0]!.replace(/^resid-norms: /, ''), testCase.message);
        assert.deepEqual(
          diffTrees(outside, await snapshotTree(root)).filter((line) => !line.startsWith(cache.slice(root.length + 1))),
          [],
        );
        assert.deepEqual(await refusedCacheProblems(cache), []);
      } finally {
        hub.treePageSize = 1000;
        hub.faults.clear();
      }
    });
  }

  it('offline, a FIFO in the cached snapshot is refused at once, not read forever', async () => {
    serve();
    const cache = await mkdtemp(join(root, 'cache-'));
    assert.equal((await runCli(measureArgs(join(root, 'fifo', 'first.json')), { env: baseEnv(cache), timeoutMs: 60_000 })).code, 0);
    const snapshot = join(cache, 'datasets--test-org--pile', 'snapshots', fakeSha('pile'), 'data');
    const blob = join(dirname(join(snapshot, 'train-1.parquet')), await readlink(join(snapshot, 'train-1.parquet')));
    await rm(blob);
    assert.equal(spawnSync('mkfifo', [blob]).status, 0);
    const result = await runCli(measureArgs(join(root, 'fifo', 'second.json')), { env: { ...baseEnv(cache), HF_HUB_OFFLINE: '1' }, timeoutMs: 30_000 });
    assert.equal(result.code, ExitCode.network, result.stderr);
    assert.match(
      result.stderr,
      /^resid-norms: the cached ".*train-1\.parquet" of dataset "test-org\/pile@main" is a FIFO \(named pipe\), not a regular file; remove it and run again online\n$/,
    );
  });

  it('with the Hub down, uses the cached snapshot and says so in one warning', async () => {
    serve();
    const cache = await mkdtemp(join(root, 'cache-'));
    assert.equal((await runCli(measureArgs(join(root, 'down', 'first.json')), { env: baseEnv(cache), timeoutMs: 60_000 })).code, 0);
    const closed = await closedPort();
    const down = await runCli(measureArgs(join(root, 'down', 'second.json')), {
      env: { ...baseEnv(cache), HF_ENDPOINT: `http://127.0.0.1:${closed}` },
      timeoutMs: 60_000,
    });
    assert.equal(down.code, 0, down.stderr);
    assert.match(
      down.stderr,
      new RegExp(
        `warning: cannot reach http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\) to get "test-org/pile"; using the cached snapshot [0-9a-f]{10} of dataset "test-org/pile@main" \\(2 Parquet files\\)`,
      ),
    );
    const empty = await mkdtemp(join(root, 'cache-'));
    const nothing = await runCli(measureArgs(join(root, 'down', 'third.json')), {
      env: { ...baseEnv(empty), HF_ENDPOINT: `http://127.0.0.1:${closed}` },
      timeoutMs: 60_000,
    });
    assert.equal(nothing.code, ExitCode.network);
    assert.match(nothing.stderr, /^resid-norms: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/, 'nothing cached: the failure as it is');
  });

  for (const command of ['measure', 'sweep --prepare'] as const) {
    it(`exits 130 on SIGTERM during a dataset download (${command})`, async () => {
      hub.datasets.set(DATASET, {
        sha: fakeSha('pile slow'),
        files: new Map([['data/slow.parquet', Buffer.concat([files.get('data/train-0.parquet')!, Buffer.alloc(50_000)])]]),
      });
      hub.faults.set('data/slow.parquet', { stallAfterBytes: 100 });
      hub.cdnLog.length = 0;
      const work = await mkdtemp(join(root, 'sigterm-'));
      const args =
        command === 'measure'
          ? measureArgs(join(work, 'out', 'r.json'))
          : ['sweep', '--models', model, '--prompts', `hf://datasets/${DATASET}`, '--prepare', '-o', join(work, 'sweep')];
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, ...baseEnv(join(work, 'cache')), RESID_NORMS_HUB_STALL_TIMEOUT_MS: '600000' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      try {
        for (let waited = 0; !hub.cdnLog.some((entry) => entry.url.startsWith('/xet-bridge-us/')); waited += 20) {
          assert.ok(waited < 30_000 && child.exitCode === null, `the download never started:\n${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
        const signalledAt = Date.now();
        child.kill('SIGTERM');
        assert.equal(await exited, ExitCode.interrupted, stderr);
        assert.ok(Date.now() - signalledAt < 5_000);
        assert.match(
          stderr.trimEnd().split('\n').at(-1)!,
          /^resid-norms: SIGTERM while downloading dataset "test-org\/pile@main"; finished files stay in the cache and a partial one resumes: run the same command again$/,
        );
        assert.ok(
          (await readdir(work)).every((name) => name === 'cache' || name === 'sweep'),
          'no results',
        );
      } finally {
        clearTimeout(killer);
        child.kill('SIGKILL');
        hub.faults.clear();
        hub.cdnLog.length = 0;
      }
    });
  }

  it('writes nothing when the listing is refused before any file (a tree 404 is "no Parquet file under")', async () => {
    serve();
    const cache = await mkdtemp(join(root, 'cache-'));
    const result = await runCli(
      ['measure', '--model', model, '--prompts', `hf://datasets/${DATASET}/nothing/here.parquet`, '--out', join(root, 'none', 'r.json')],
      { env: baseEnv(cache), timeoutMs: 30_000 },
    );
    assert.equal(result.code, ExitCode.badInput, result.stderr);
    assert.match(result.stderr, /^resid-norms: dataset "test-org\/pile@main" has no Parquet file under "nothing\/here\.parquet"/);
    assert.deepEqual(await refusedCacheProblems(cache), []);
  });
});
