/**
 * Issue 26, classes 3 and 5: every read has a bound, and messages name the problem. FIFOs where
 * checkpoints and tables are read (refused at once, never waited on), prompt tables that
 * decompress without bound, CSV files that are not UTF-8, a tokenizer whose pre-tokenizer
 * regex backtracks catastrophically (stopped by a deadline per prompt). Each case: the exit
 * code, one line, an answer within a bounded time, nothing in the case folder changed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ExitCode } from '../../src/errors.js';
import { assertRefusal } from '../support/refusal.js';
import { CLI, runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

const mkfifo = (path: string) => {
  const result = spawnSync('mkfifo', [path]);
  if (result.status !== 0) throw new Error(`mkfifo ${path}: ${result.stderr}`);
};
const measure = (prompts: string, ...rest: string[]) => ['-q', 'measure', '--model', 'model', '--prompts', prompts, '--out', 'o.json', ...rest];

/** A pre-tokenizer that backtracks exponentially on a run of "a" not followed by the end. */
async function backtrackingTokenizer(dir: string): Promise<void> {
  const path = join(dir, 'tokenizer.json');
  const tokenizer = JSON.parse(await readFile(path, 'utf8')) as { pre_tokenizer: unknown };
  tokenizer.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [{ type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false }, tokenizer.pre_tokenizer],
  };
  await writeFile(path, JSON.stringify(tokenizer));
}

interface Case {
  name: string;
  setup: (at: (...parts: string[]) => string) => Promise<void>;
  args: string[];
  env?: NodeJS.ProcessEnv;
  code: number;
  message: RegExp;
}

describe('every read has a bound; messages name the problem', () => {
  let root: string;
  let count = 0;
  const base = (...parts: string[]) => join(root, 'base', ...parts);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-bounds-'));
    await writeTinyGpt2(base('model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32 });
    await writeFile(base('prompts.txt'), 'Hello there\nSecond prompt\n');
    assert.equal((await runCli(measure('prompts.txt', '--out', 'r.json'), { cwd: base() })).code, 0);
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    // 38 MiB of text stored in a few kilobytes (zstd): a decompression bomb.
    await duck.run(
      `COPY (SELECT repeat('a', 2000000) || i::VARCHAR AS text FROM range(20) t(i)) TO '${base('bomb.parquet')}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    duck.closeSync();
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Case[] = [
    // FIFOs where a read would wait forever for a writer.
    {
      name: 'a FIFO as the checkpoint index',
      setup: async (at) => mkfifo(at('o.json.checkpoint')),
      args: measure('prompts.txt'),
      code: ExitCode.usage,
      message: /cannot use the checkpoint "o\.json\.checkpoint": it is a FIFO \(named pipe\), not a regular file; rerun with --restart/,
    },
    {
      name: 'a FIFO as the checkpoint norms',
      setup: async (at) => {
        await writeFile(at('o.json.checkpoint'), '');
        mkfifo(at('o.json.checkpoint.bin'));
      },
      args: measure('prompts.txt'),
      code: ExitCode.usage,
      message: /cannot use the checkpoint "o\.json\.checkpoint\.bin": it is a FIFO/,
    },
    {
      name: 'a FIFO as the tokens table of a results file',
      setup: async (at) => {
        await rm(at('r.tokens.parquet'));
        mkfifo(at('r.tokens.parquet'));
      },
      args: ['fit', 'r.json'],
      code: ExitCode.badInput,
      message: /cannot read "r\.tokens\.parquet", a table of "r\.json": it is a FIFO \(named pipe\), not a regular file/,
    },
    {
      name: 'a FIFO as the prompts table of a results file (plot)',
      setup: async (at) => {
        await rm(at('r.prompts.parquet'));
        mkfifo(at('r.prompts.parquet'));
      },
      args: ['plot', 'r.json', '--out', 'plots'],
      code: ExitCode.badInput,
      message: /cannot read "r\.prompts\.parquet", a table of "r\.json": it is a FIFO/,
    },
    {
      name: 'a FIFO as a Parquet prompt table',
      setup: async (at) => mkfifo(at('p.parquet')),
      args: measure('p.parquet'),
      code: ExitCode.badInput,
      message: /cannot read prompt table "p\.parquet" \(it is not a regular file\)/,
    },
    // Prompt tables whose cells decompress without bound, refused from the footer before any page is decoded.
    {
      name: 'a Parquet prompt table of a few kilobytes that decompresses to 38 MiB',
      setup: async () => undefined,
      args: measure('bomb.parquet'),
      code: ExitCode.badInput,
      message: /row group 1 of "bomb\.parquet" stores \d+ bytes of "text" that decompress to 38 MiB \(more than 1000×\): refused as a decompression bomb/,
    },
    // CSV files that are not UTF-8.
    {
      name: 'a Latin-1 CSV',
      setup: (at) => writeFile(at('p.csv'), Buffer.concat([Buffer.from('text\nun caf'), Buffer.from([0xe9]), Buffer.from(' noir\n')])),
      args: measure('p.csv'),
      code: ExitCode.badInput,
      message: /prompt table "p\.csv" is not UTF-8: line 2, byte 12 of the file is 0xE9 \(Latin-1 or another 8-bit encoding\?\); save it as UTF-8/,
    },
    {
      name: 'a Latin-1 CSV whose header is the bad line',
      setup: (at) => writeFile(at('p.csv'), Buffer.concat([Buffer.from('t'), Buffer.from([0xe9]), Buffer.from('xt\nhello\n')])),
      args: measure('p.csv'),
      code: ExitCode.badInput,
      message: /is not UTF-8: line 1, byte 2 of the file is 0xE9/,
    },
    {
      name: 'a UTF-16 (little-endian) CSV',
      setup: (at) => writeFile(at('p.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('text\nhello\n', 'utf16le')])),
      args: measure('p.csv'),
      code: ExitCode.badInput,
      message: /prompt table "p\.csv" is not UTF-8: it is UTF-16 little-endian \(it starts with that byte-order mark\); save it as UTF-8/,
    },
    {
      name: 'a UTF-16 (big-endian) CSV',
      setup: (at) => writeFile(at('p.csv'), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('text\nhello\n', 'utf16le').swap16()])),
      args: measure('p.csv'),
      code: ExitCode.badInput,
      message: /is not UTF-8: it is UTF-16 big-endian/,
    },
    {
      name: 'a CSV with a UTF-8 sequence cut short at the end',
      setup: (at) => writeFile(at('p.csv'), Buffer.concat([Buffer.from('text\nhello '), Buffer.from([0xe2, 0x82])])),
      args: measure('p.csv'),
      code: ExitCode.badInput,
      message: /is not UTF-8: line 2, byte 12 of the file is 0xE2/,
    },
    {
      name: 'a CSV with an overlong UTF-8 encoding (0xC0 0xAF)',
      setup: (at) => writeFile(at('p.csv'), Buffer.concat([Buffer.from('text\na'), Buffer.from([0xc0, 0xaf]), Buffer.from('\n')])),
      args: measure('p.csv'),
      code: ExitCode.badInput,
      message: /is not UTF-8: line 2, byte 7 of the file is 0xC0/,
    },
    // A tokenizer that would tokenize forever: a deadline per prompt.
    {
      name: 'a tokenizer whose pre-tokenizer backtracks catastrophically on a prompt',
      setup: async (at) => {
        await backtrackingTokenizer(at('model'));
        await writeFile(at('evil.txt'), `fine\n${'a'.repeat(40)}b\n`);
      },
      args: measure('evil.txt'),
      env: { RESID_NORMS_TOKENIZE_TIMEOUT_MS: '1500' },
      code: ExitCode.badInput,
      message:
        /tokenizing prompt 2 \(line 2\) took more than 1\.5 s, so it was stopped: the tokenizer's pre-tokenizer .* likely backtracks catastrophically on it/,
    },
    {
      name: 'RESID_NORMS_TOKENIZE_TIMEOUT_MS that is not a duration',
      setup: async () => undefined,
      args: measure('prompts.txt'),
      env: { RESID_NORMS_TOKENIZE_TIMEOUT_MS: 'soon' },
      code: ExitCode.usage,
      message: /RESID_NORMS_TOKENIZE_TIMEOUT_MS is "soon"; give milliseconds from 1 to 86400000/,
    },
  ];

  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      count += 1;
      const dir = join(root, `case-${count}`);
      await cp(base(), dir, { recursive: true });
      await testCase.setup((...parts) => join(dir, ...parts));
      const before = await snapshotTree(dir);
      const started = Date.now();
      const result = await runCli(testCase.args, { cwd: dir, timeoutMs: 30_000, ...(testCase.env ? { env: testCase.env } : {}) });
      assertRefusal(result, testCase.code, testCase.message);
      assert.ok(Date.now() - started < 20_000, `answered in ${Date.now() - started} ms`);
      assert.deepEqual(diffTrees(before, await snapshotTree(dir)), [], 'nothing in the case folder changed');
    });
  }

  it('reads a UTF-8 CSV whose multi-byte characters straddle the 1 MiB pieces it is checked in, and cuts cells past 1 MiB characters with a warning', async () => {
    const dir = join(root, 'utf8');
    await cp(base(), dir, { recursive: true });
    const filler = 'é'.repeat((1 << 20) / 2 - 3); // two bytes each: the next 'é' straddles the 1 MiB boundary
    await writeFile(join(dir, 'p.csv'), `text\n"${filler}é€😀 end"\nsecond row\n`);
    const result = await runCli(measure('p.csv', '--max-tokens', '16'), { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const long = 'lorem ipsum dolor sit amet '.repeat(50_000); // 1.35 M characters
    await writeFile(join(dir, 'long.parquet'), Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: [long, 'short one'], type: 'STRING' }] })));
    const cut = await runCli(['measure', '--model', 'model', '--prompts', 'long.parquet', '--max-tokens', '16', '--out', 'l.json'], { cwd: dir });
    assert.equal(cut.code, 0, cut.stderr);
    assert.match(cut.stderr, /warning: 1 row of "long\.parquet" longer than 1048576 characters cut to that/);
  });

  it('stops at once on SIGTERM while a tokenizer backtracks catastrophically (exit 130, not only SIGKILL)', async () => {
    const dir = join(root, 'sigterm');
    await cp(base(), dir, { recursive: true });
    await backtrackingTokenizer(join(dir, 'model'));
    await writeFile(join(dir, 'evil.txt'), `${'a'.repeat(40)}b\n`);
    const child = spawn(process.execPath, [CLI, ...measure('evil.txt')], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RESID_NORMS_TOKENIZE_TIMEOUT_MS: '600000' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // start-up, then the tokenizer stuck in its regex
    const signalled = Date.now();
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(killer);
    assert.equal(code, ExitCode.interrupted, stderr);
    assert.ok(Date.now() - signalled < 5000, `stopped ${Date.now() - signalled} ms after SIGTERM`);
    assert.match(stderr, /SIGTERM while tokenizing the prompts, before any batch ran/);
  });
});
