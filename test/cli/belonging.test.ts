/**
 * Issue 26, class 2: files that belong together say so. A results file and its tables carry one
 * run id (the tables in their Parquet key-value metadata), and every reader refuses a pair whose
 * ids differ; models are told apart by content, not by folder name (merge, sweep members);
 * paths are taken literally, never globbed. Each case: the exit code, one line, nothing in the
 * case folder changed.
 */
import assert from 'node:assert/strict';
import { copyFile, cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ExitCode } from '../../src/errors.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { assertRefusal } from '../support/refusal.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

const measure = (model: string, out: string, ...rest: string[]) => ['-q', 'measure', '--model', model, '--prompts', 'prompts.txt', '--out', out, ...rest];

/** Replace `into`'s tables by `from`'s, as a run killed between writing its tables and its results file leaves them. */
async function tablesOf(from: string, into: string, which: Array<'tokens' | 'prompts'> = ['tokens', 'prompts']): Promise<void> {
  for (const table of which) await copyFile(tablePaths(from)[table], tablePaths(into)[table]);
}

async function editJson(path: string, edit: (document: Record<string, any>) => void): Promise<void> {
  const document = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>;
  edit(document);
  await writeFile(path, JSON.stringify(document));
}

interface Case {
  name: string;
  setup: (at: (...parts: string[]) => string) => Promise<void>;
  args: string[];
  code: number;
  message: RegExp;
}

describe('files that belong together say so; others are refused', () => {
  let root: string;
  let count = 0;
  const base = (...parts: string[]) => join(root, 'base', ...parts);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-belong-'));
    // Two models whose folders share a name: a/model and b/model.
    await writeTinyGpt2(base('a', 'model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32, seed: 1 });
    await writeTinyGpt2(base('b', 'model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32, seed: 2 });
    await writeFile(base('prompts.txt'), 'Hello there\nSecond prompt\nA third one\nAnd a fourth\n');
    await writeFile(base('other-prompts.txt'), 'Something else entirely\nAnd more of it\n');
    for (const args of [
      measure('a/model', 'old.json'),
      measure('b/model', 'new.json'),
      measure('a/model', 'again.json', '--prompts', 'other-prompts.txt'),
      measure('a/model', 'sa1.json', '--shard', '1/2', '--batch-size', '1'),
      measure('a/model', 'sa2.json', '--shard', '2/2', '--batch-size', '1'),
      measure('b/model', 'sb2.json', '--shard', '2/2', '--batch-size', '1'),
      measure('a/model', 'res[1].json'),
      measure('b/model', 'res1.json'),
    ]) {
      const result = await runCli(args, { cwd: base() });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Case[] = [
    // A run killed between its tables and its results file: the old results file beside the new tables.
    {
      name: "fit of an old results file beside another model's new tables",
      setup: (at) => tablesOf(at('new.json'), at('old.json')),
      args: ['fit', 'old.json'],
      code: ExitCode.badInput,
      message:
        /"old\.tokens\.parquet" is not a table of "old\.json": its run id is [0-9a-f]{32}, the results file's [0-9a-f]{32} \(the files are from different runs/,
    },
    {
      name: 'plot of a results file beside tables of the same model with other prompts',
      setup: (at) => tablesOf(at('again.json'), at('old.json')),
      args: ['plot', 'old.json', '--out', 'plots'],
      code: ExitCode.badInput,
      message: /is not a table of "old\.json": its run id/,
    },
    {
      name: 'report of a results file whose prompts table alone is of another run',
      setup: (at) => tablesOf(at('new.json'), at('old.json'), ['prompts']),
      args: ['report', 'old.json', '--out', 'rep'],
      code: ExitCode.badInput,
      message: /"old\.prompts\.parquet" is not a table of "old\.json"/,
    },
    {
      name: "merge of shards one of which has another run's prompts table",
      setup: (at) => tablesOf(at('sb2.json'), at('sa2.json'), ['prompts']),
      args: ['merge', 'sa1.json', 'sa2.json', '-o', 'm.json'],
      code: ExitCode.badInput,
      message: /"sa2\.prompts\.parquet" is not a table of "sa2\.json": its run id/,
    },
    {
      name: 'a results file written before run ids beside tables that have one',
      setup: async (at) => {
        await tablesOf(at('new.json'), at('old.json'));
        await editJson(at('old.json'), (document) => delete document.tables.runId);
      },
      args: ['fit', 'old.json'],
      code: ExitCode.badInput,
      message: /its run id is [0-9a-f]{32}, the results file's none/,
    },
    {
      name: 'a results file whose run id was edited',
      setup: (at) => editJson(at('old.json'), (document) => (document.tables.runId = '0'.repeat(32))),
      args: ['fit', 'old.json'],
      code: ExitCode.badInput,
      message: /the results file's 0{32}/,
    },
    // Models told apart by content, not by folder name.
    {
      name: 'merge of shards of two models whose folders share a name',
      setup: async () => undefined,
      args: ['merge', 'sa1.json', 'sb2.json', '-o', 'm.json'],
      code: ExitCode.badInput,
      message: /"sb2\.json" and "sa1\.json" differ in model content \(commit sha or weights sha256, whatever their names\); shards must come from one run/,
    },
  ];

  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      count += 1;
      const dir = join(root, `case-${count}`);
      await cp(base(), dir, { recursive: true });
      await testCase.setup((...parts) => join(dir, ...parts));
      const before = await snapshotTree(dir);
      const result = await runCli(testCase.args, { cwd: dir, timeoutMs: 60_000 });
      assertRefusal(result, testCase.code, testCase.message);
      assert.deepEqual(diffTrees(before, await snapshotTree(dir)), [], 'nothing in the case folder changed');
    });
  }

  it('reads paths with glob characters literally: res[1].json is not res1.json, p[1].parquet is not p1.parquet', async () => {
    const dir = join(root, 'globs');
    await cp(base(), dir, { recursive: true });
    for (const [file, model] of [
      ['res[1].json', 'a/model'],
      ['res1.json', 'b/model'],
    ] as const) {
      const result = await runCli(['fit', file, '--json'], { cwd: dir });
      assert.equal(result.code, 0, result.stderr);
      const measured = JSON.parse(await readFile(join(dir, file), 'utf8')) as { model: { contentId: string } };
      assert.ok(measured.model.contentId.startsWith('sha256:'), model);
    }
    const fits = await Promise.all(
      ['res[1].json', 'res1.json'].map(
        async (file) => (JSON.parse((await runCli(['fit', file, '--json'], { cwd: dir })).stdout) as { fits: Array<{ growth: number }> }).fits[0]!.growth,
      ),
    );
    assert.notEqual(fits[0], fits[1], 'two models, two fits');
    const table = (texts: string[]) => Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: texts, type: 'STRING' }] }));
    await writeFile(join(dir, 'p[1].parquet'), table(['from the bracketed table']));
    await writeFile(join(dir, 'p1.parquet'), table(['from the plain table', 'and a second row']));
    await writeFile(join(dir, 'p*.parquet'), table(['from the starred table', 'row two', 'row three']));
    for (const [file, prompts] of [
      ['p[1].parquet', 1],
      ['p1.parquet', 2],
      ['p*.parquet', 3],
    ] as const) {
      const out = `from-${prompts}.json`;
      const result = await runCli(measure('a/model', out, '--prompts', file), { cwd: dir });
      assert.equal(result.code, 0, result.stderr);
      const measured = JSON.parse(await readFile(join(dir, out), 'utf8')) as { prompts: { count: number; source: string } };
      assert.equal(measured.prompts.count, prompts, `${file}: ${measured.prompts.source}`);
    }
  });

  it('a sweep measures again a member whose folder now holds another model, instead of reporting the old numbers', async () => {
    const dir = join(root, 'sweep');
    await mkdir(dir);
    await cp(base('a', 'model'), join(dir, 'model'), { recursive: true });
    await copyFile(base('prompts.txt'), join(dir, 'prompts.txt'));
    const sweep = ['-q', 'sweep', '--models', 'model', '--prompts', 'prompts.txt', '--bootstrap', '0', '-o', 'out'];
    assert.equal((await runCli(sweep, { cwd: dir })).code, 0);
    const first = JSON.parse(await readFile(join(dir, 'out', 'sweep.json'), 'utf8')) as { members: Array<{ growth: { factor: number } }> };
    await rm(join(dir, 'model'), { recursive: true });
    await cp(base('b', 'model'), join(dir, 'model'), { recursive: true }); // the same folder name, other weights
    const again = await runCli(['sweep', '--models', 'model', '--prompts', 'prompts.txt', '--bootstrap', '0', '-o', 'out'], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /members\/model\.json holds another model's results \(sha256:[0-9a-f]+…, the folder now sha256:[0-9a-f]+…\); measuring again/);
    const second = JSON.parse(await readFile(join(dir, 'out', 'sweep.json'), 'utf8')) as { members: Array<{ growth: { factor: number } }> };
    assert.notEqual(second.members[0]!.growth.factor, first.members[0]!.growth.factor);
    // And without a change, the member is skipped as before.
    const third = await runCli(['sweep', '--models', 'model', '--prompts', 'prompts.txt', '--bootstrap', '0', '-o', 'out'], { cwd: dir });
    assert.match(third.stderr, /already measured \(members\/model\.json\); skipped/);
    await rename(join(dir, 'out'), join(dir, 'out-kept')); // keep the tree small for the next runs
  });
});
