/**
 * Issue 26, class 1: writes that would escape their folder or clobber an input. Every case
 * works on its own copy of a measured run (tiny model, prompts, results and tables, two
 * shards), plants something at or near an output, and runs a command. Either the command
 * refuses before writing anything (exit code, one line, the whole case folder unchanged), or it
 * succeeds and the planted link is replaced, never written through. In both, a victim file
 * outside the case folder, which every planted link points at, is unchanged.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, link, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { assertRefusal } from '../support/refusal.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

interface Case {
  name: string;
  /** Plants what the case is about in its folder; `victim` is the absolute path of a file outside it. */
  setup?: (at: (...parts: string[]) => string, victim: string) => Promise<void>;
  args: string[];
  /** Expected refusal; absent: the command succeeds. */
  refusal?: { code: number; message: RegExp };
  /** For a success: these paths (relative to the case folder) must be regular files afterwards (a planted link replaced). */
  regularFiles?: string[];
}

const measure = (...rest: string[]) => ['-q', 'measure', '--model', 'model', '--prompts', 'prompts.txt', '--batch-size', '1', ...rest];

describe('writes never escape their folder or replace an input', () => {
  let root: string;
  let count = 0;
  const base = (...parts: string[]) => join(root, 'base', ...parts);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-writes-'));
    await writeTinyGpt2(base('model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32 });
    await writeFile(base('prompts.txt'), 'Hello there\nSecond prompt\nA third one\n');
    for (const args of [measure('--out', 'r.json'), measure('--out', 's1.json', '--shard', '1/2'), measure('--out', 's2.json', '--shard', '2/2')]) {
      const result = await runCli(args, { cwd: base() });
      assert.equal(result.code, 0, result.stderr);
    }
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Case[] = [
    // Links planted at the names of outputs: replaced by the output, never written through.
    {
      name: 'a symlink at the results JSON',
      setup: (at, victim) => symlink(victim, at('out.json')),
      args: measure('--out', 'out.json'),
      regularFiles: ['out.json'],
    },
    {
      name: 'a symlink at a table',
      setup: (at, victim) => symlink(victim, at('out.tokens.parquet')),
      args: measure('--out', 'out.json'),
      regularFiles: ['out.tokens.parquet'],
    },
    {
      name: "a symlink at a table's old partial name",
      setup: (at, victim) => symlink(victim, at('.out.prompts.parquet.partial')),
      args: measure('--out', 'out.json'),
      regularFiles: ['out.prompts.parquet'],
    },
    {
      name: 'a symlink at <out>.checkpoint.bin',
      setup: (at, victim) => symlink(victim, at('out.json.checkpoint.bin')),
      args: measure('--out', 'out.json'),
      regularFiles: ['out.json'],
    },
    {
      name: 'a symlink at a figure plot writes',
      setup: async (at, victim) => {
        await mkdir(at('plots'));
        await symlink(victim, at('plots', 'growth.svg'));
      },
      args: ['plot', 'r.json', '--figures', 'growth', '--out', 'plots'],
      regularFiles: ['plots/growth.svg'],
    },
    {
      name: 'a symlink at --junit',
      setup: (at, victim) => symlink(victim, at('gate.xml')),
      args: ['fit', 'r.json', '--junit', 'gate.xml'],
      regularFiles: ['gate.xml'],
    },
    // A link at the checkpoint index would be read and appended to: refused; --restart removes the link itself.
    {
      name: 'a symlink at <out>.checkpoint',
      setup: (at, victim) => symlink(victim, at('out.json.checkpoint')),
      args: measure('--out', 'out.json'),
      refusal: { code: ExitCode.usage, message: /cannot use the checkpoint "out\.json\.checkpoint": it is a symbolic link.*--restart/ },
    },
    {
      name: 'a symlink at <out>.checkpoint, with --restart',
      setup: (at, victim) => symlink(victim, at('out.json.checkpoint')),
      args: measure('--out', 'out.json', '--restart'),
      regularFiles: ['out.json'],
    },
    // Folders below an output folder that are links to elsewhere.
    {
      name: 'report whose figures/ is a symlink out of --out',
      setup: async (at, victim) => {
        await mkdir(at('rep'));
        await symlink(join(victim, '..'), at('rep', 'figures'));
      },
      args: ['report', 'r.json', '--out', 'rep'],
      refusal: {
        code: ExitCode.usage,
        message: /cannot write "rep\/figures\/.*\.svg": "rep\/figures" is a symbolic link, and outputs in --out "rep" are never written through links/,
      },
    },
    // Outputs over inputs, the tables of a results file included.
    {
      name: 'fit --junit over the tokens table of its input',
      args: ['fit', 'r.json', '--junit', 'r.tokens.parquet'],
      refusal: { code: ExitCode.usage, message: /--junit "r\.tokens\.parquet" is a table of "r\.json"/ },
    },
    {
      name: 'fit --out over the prompts table of its input',
      args: ['fit', 'r.json', '--out', 'r.prompts.parquet'],
      refusal: { code: ExitCode.usage, message: /--out "r\.prompts\.parquet" is a table of "r\.json"/ },
    },
    {
      name: 'fit --out a hard link to a table of its input',
      setup: async (at) => link(at('r.tokens.parquet'), at('fit.json')),
      args: ['fit', 'r.json', '--out', 'fit.json'],
      refusal: { code: ExitCode.usage, message: /--out "fit\.json" is a table of "r\.json"/ },
    },
    {
      name: 'fit --out and --junit the same file',
      args: ['fit', 'r.json', '--out', 'x.out', '--junit', 'x.out'],
      refusal: { code: ExitCode.usage, message: /--out "x\.out" and --junit "x\.out" are the same file/ },
    },
    {
      name: 'fit --out and --junit the same file by two spellings',
      setup: (at) => mkdir(at('d')),
      args: ['fit', 'r.json', '--out', 'd/x.out', '--junit', 'd/../d/./x.out'],
      refusal: { code: ExitCode.usage, message: /are the same file/ },
    },
    {
      name: 'plot --format json over its input results file',
      setup: async (at) => {
        await mkdir(at('plots'));
        await cp(at('r.json'), at('plots', 'growth.vl.json'));
      },
      args: ['plot', 'plots/growth.vl.json', '--figures', 'growth', '--format', 'json', '--out', 'plots'],
      refusal: { code: ExitCode.usage, message: /growth\.vl\.json.*is the input file/ },
    },
    {
      name: 'plot whose figure would be a hard link to a table',
      setup: async (at) => {
        await mkdir(at('plots'));
        await link(at('r.prompts.parquet'), at('plots', 'growth.svg'));
      },
      args: ['plot', 'r.json', '--figures', 'growth', '--out', 'plots'],
      refusal: { code: ExitCode.usage, message: /--out "plots\/growth\.svg" is a table of "r\.json"/ },
    },
    {
      name: 'merge -o over a table of a shard',
      args: ['merge', 's1.json', 's2.json', '-o', 's1.tokens.parquet.json'],
      setup: async (at) => link(at('s1.tokens.parquet'), at('s1.tokens.parquet.json')),
      refusal: { code: ExitCode.usage, message: /is a table of "s1\.json"|is the shard file/ },
    },
    {
      name: 'merge whose output table is a hard link to a shard table',
      setup: async (at) => link(at('s2.prompts.parquet'), at('m.prompts.parquet')),
      args: ['merge', 's1.json', 's2.json', '-o', 'm.json'],
      refusal: { code: ExitCode.usage, message: /--out \(its prompts table\) "m\.prompts\.parquet" is a table of "s2\.json"/ },
    },
    // Outputs that cannot be written, found before the first one is.
    {
      name: 'report whose index.html is a folder, before any figure',
      setup: async (at) => void (await mkdir(at('rep', 'index.html'), { recursive: true })),
      args: ['report', 'r.json', '--out', 'rep'],
      refusal: { code: ExitCode.usage, message: /cannot write "rep\/index\.html": it is a folder/ },
    },
    {
      name: 'report whose summary.md is a FIFO, before any figure',
      setup: async (at) => {
        await mkdir(at('rep'));
        mkfifo(at('rep', 'summary.md'));
      },
      args: ['report', 'r.json', '--out', 'rep'],
      refusal: { code: ExitCode.usage, message: /cannot write "rep\/summary\.md": it is a FIFO/ },
    },
    {
      name: 'plot whose second format is a folder, before the first is written',
      setup: async (at) => void (await mkdir(at('plots', 'growth.png'), { recursive: true })),
      args: ['plot', 'r.json', '--figures', 'growth', '--format', 'svg,png', '--out', 'plots'],
      refusal: { code: ExitCode.usage, message: /cannot write "plots\/growth\.png": it is a folder/ },
    },
    {
      name: 'sweep whose members/ is a symlink out of --out',
      setup: async (at, victim) => {
        await mkdir(at('sw'));
        await symlink(join(victim, '..'), at('sw', 'members'));
      },
      args: ['sweep', '--model', 'model', '--prompts', 'prompts.txt', '-o', 'sw'],
      refusal: {
        code: ExitCode.usage,
        message: /cannot write "sw\/members": "sw\/members" is a symbolic link, and outputs in --out "sw" are never written through links/,
      },
    },
  ];

  for (const testCase of cases) {
    it(`${testCase.refusal ? 'refuses' : 'is safe with'} ${testCase.name}`, async () => {
      count += 1;
      const dir = join(root, `case-${count}`);
      const victimDir = join(root, `victim-${count}`);
      await cp(base(), dir, { recursive: true });
      await mkdir(victimDir);
      const victim = join(victimDir, 'precious.txt');
      await writeFile(victim, 'outside the output folder\n');
      await testCase.setup?.((...parts) => join(dir, ...parts), victim);
      const victimBefore = await snapshotTree(victimDir);
      const folderBefore = await snapshotTree(dir);
      const result = await runCli(testCase.args, { cwd: dir, timeoutMs: 60_000 });
      if (testCase.refusal) {
        assertRefusal(result, testCase.refusal.code, testCase.refusal.message);
        assert.deepEqual(diffTrees(folderBefore, await snapshotTree(dir)), [], 'nothing in the case folder changed');
      } else {
        assert.equal(result.code, 0, result.stderr);
        for (const path of testCase.regularFiles ?? []) assert.ok((await lstat(join(dir, path))).isFile(), `${path} is a regular file`);
        assert.deepEqual(
          (await readdir(dir)).filter((name) => /\.(tmp|partial)$/.test(name) && !name.startsWith('.out.prompts.parquet.partial')),
          [],
          'no temp file left',
        );
      }
      assert.deepEqual(diffTrees(victimBefore, await snapshotTree(victimDir)), [], 'nothing outside the case folder changed');
    });
  }
});

function mkfifo(path: string): void {
  const result = spawnSync('mkfifo', [path]);
  if (result.status !== 0) throw new Error(`mkfifo ${path}: ${result.stderr}`);
}
