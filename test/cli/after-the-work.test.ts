/**
 * Issue 26, class 4: no crash after the work. Inputs whose values would once overflow the call
 * stack, allocate without bound or loop forever once every batch had run — a model whose
 * activations are all zero, a checkpoint zero-filled, a results file with a mean past float32,
 * JSON nested a million deep, a table that claims billions of rows, a full disk under the
 * tables — either work or are refused in one line, with no stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { ExitCode } from '../../src/errors.js';
import { ParquetFileWriter, type ColumnValues } from '../../src/store/parquet-writer.js';
import { RUN_ID_KEY, promptTableColumns, tablePaths } from '../../src/store/result-tables.js';
import type { HookName } from '../../src/vocabulary/hooks.js';
import { assertRefusal } from '../support/refusal.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

const measure = (model: string, out: string, ...rest: string[]) => ['-q', 'measure', '--model', model, '--prompts', 'prompts.txt', '--out', out, ...rest];
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

async function editJson(path: string, edit: (document: Record<string, any>) => void): Promise<void> {
  const document = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>;
  edit(document);
  await writeFile(path, JSON.stringify(document));
}

/** Rewrite a results file's prompts table so its footer claims `rows` rows (the file says the same), keeping its run id. */
async function claimRows(results: string, rows: number): Promise<void> {
  const document = JSON.parse(await readFile(results, 'utf8')) as Record<string, any>;
  const hooks = document.hooks as HookName[];
  const nLayers = document.model.nLayers as number;
  const real = document.tables.prompts.rows as number;
  const writer = ParquetFileWriter.create(tablePaths(results).prompts, promptTableColumns(hooks, nLayers));
  const values = new Map<string, ColumnValues>();
  for (const column of promptTableColumns(hooks, nLayers)) {
    if (column.kind === 'string')
      values.set(
        column.name,
        Array.from({ length: real }, () => null),
      );
    else if (column.kind === 'bool') values.set(column.name, new Uint8Array(real));
    else if (column.kind === 'int32')
      values.set(
        column.name,
        Int32Array.from({ length: real }, (_, i) => i),
      );
    else values.set(column.name, new Float64Array(real * column.length));
  }
  writer.writeRowGroup(real, values);
  const internals = writer as unknown as { rows: number; rowGroups: Array<{ num_rows: bigint }> };
  internals.rowGroups[0]!.num_rows = BigInt(rows);
  internals.rows = rows;
  writer.finish([{ key: RUN_ID_KEY, value: document.tables.runId as string }]);
  document.tables.prompts.rows = rows;
  document.prompts.count = rows;
  await writeFile(results, JSON.stringify(document));
}

/** A Parquet file of a few kilobytes whose text column decompresses to 95 MiB. */
async function writeBomb(path: string): Promise<void> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  await duck.run(`COPY (SELECT i AS prompt, repeat('a', 1000000) || i::VARCHAR AS text FROM range(100) t(i)) TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
  duck.closeSync();
}

interface Case {
  name: string;
  setup?: (at: (...parts: string[]) => string) => Promise<void>;
  args: string[];
  /** Absent: the command succeeds (exit 0). */
  refusal?: { code: number; message: RegExp };
}

describe('no crash after the work', () => {
  let root: string;
  let count = 0;
  const base = (...parts: string[]) => join(root, 'base', ...parts);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-after-'));
    await writeTinyGpt2(base('model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32 });
    await writeTinyGpt2(base('zero'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32, scale: 0 }); // every activation 0
    await writeFile(base('prompts.txt'), 'Hello there\nSecond prompt\nA third one\n');
    const made = await runCli(measure('model', 'r.json', '--batch-size', '1'), { cwd: base() });
    assert.equal(made.code, 0, made.stderr);
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Case[] = [
    {
      name: 'measure of a model whose activations are all zero, with massive-median (a median of 0)',
      args: measure('zero', 'z.json', '--diagnostics', 'massive,massive-median,cosines'),
    },
    {
      name: 'plot of the results of a model whose activations are all zero',
      setup: async (at) => void (await runCli(measure('zero', 'z.json', '--diagnostics', 'massive-median'), { cwd: at() })),
      args: ['plot', 'z.json', '--out', 'plots'],
    },
    {
      name: 'fit of the results of a model whose activations are all zero',
      setup: async (at) => void (await runCli(measure('zero', 'z.json'), { cwd: at() })),
      args: ['fit', 'z.json', '--hook', 'resid_pre'],
      refusal: { code: ExitCode.badInput, message: /mean is not positive at layer 0 \(value 0\); a log-linear fit needs norms > 0/ },
    },
    {
      name: 'plot of a results file whose means are past float32 (1e308)',
      setup: (at) =>
        editJson(at('r.json'), (document) => {
          for (const metric of ['centered', 'raw'])
            for (const rows of Object.values(document.summaries[metric]) as Array<Array<{ mean: number }>>) for (const row of rows) row.mean = 1e308;
        }),
      args: ['plot', 'r.json', '--figures', 'addition', '--out', 'plots'],
      refusal: { code: ExitCode.badInput, message: /"r\.json" is not a valid results file: .*mean.*3\.4028234663852886e\+38/ },
    },
    {
      name: 'fit of a results file nested 200,000 levels deep',
      setup: (at) => writeFile(at('r.json'), `{"format": ${deep(200_000)}}`),
      args: ['fit', 'r.json'],
      refusal: { code: ExitCode.badInput, message: /"r\.json" is not a results file: it nests arrays or objects more than 100 levels deep/ },
    },
    {
      name: 'plot with a fit file nested 200,000 levels deep',
      setup: (at) => writeFile(at('f.json'), deep(200_000)),
      args: ['plot', 'r.json', '--fit', 'f.json', '--out', 'plots'],
      refusal: { code: ExitCode.badInput, message: /"f\.json" is not a fit file: it nests arrays or objects more than 100 levels deep/ },
    },
    {
      name: 'measure with a tokenizer.json nested 200,000 levels deep',
      setup: (at) => writeFile(at('model', 'tokenizer.json'), `{"model": ${deep(200_000)}}`),
      args: measure('model', 'o.json'),
      refusal: { code: ExitCode.badModel, message: /tokenizer\.json" is not valid JSON/ },
    },
    {
      name: 'measure with a config.json nested 200,000 levels deep',
      setup: (at) => writeFile(at('model', 'config.json'), `{"n_layer": ${deep(200_000)}}`),
      args: measure('model', 'o.json'),
      refusal: { code: ExitCode.badModel, message: /config\.json/ },
    },
    {
      name: 'measure resuming a checkpoint whose index is zero-filled',
      setup: (at) => writeFile(at('o.json.checkpoint'), Buffer.alloc(8192)),
      args: measure('model', 'o.json'),
      refusal: { code: ExitCode.usage, message: /"o\.json\.checkpoint" is not a checkpoint of this resid-norms version; rerun with --restart/ },
    },
    {
      name: 'measure resuming a checkpoint whose index is one line of 8 MiB',
      setup: (at) => writeFile(at('o.json.checkpoint'), Buffer.alloc(8 << 20, 0x61)),
      args: measure('model', 'o.json'),
      refusal: { code: ExitCode.usage, message: /is not a checkpoint of this resid-norms version/ },
    },
    {
      name: 'measure resuming a checkpoint whose header key is nested 200,000 deep',
      setup: (at) => writeFile(at('o.json.checkpoint'), `{"format":"resid-norms/checkpoint","version":4,"key":{"model":${deep(200_000)}}}\n`),
      args: measure('model', 'o.json'),
      refusal: { code: ExitCode.usage, message: /is not a checkpoint of this resid-norms version/ },
    },
    {
      name: 'fit of a results file whose prompts table claims two billion rows',
      setup: (at) => claimRows(at('r.json'), 2_000_000_000),
      args: ['fit', 'r.json'],
      refusal: {
        code: ExitCode.badInput,
        message: /"r\.prompts\.parquet" claims 2000000000 prompts of 3 layers, which would need .* GiB at once \(at most 2 GiB is read at once\)/,
      },
    },
    {
      name: 'fit of a results file whose prompts table is a decompression bomb',
      setup: (at) => writeBomb(at('r.prompts.parquet')),
      args: ['fit', 'r.json'],
      refusal: {
        code: ExitCode.badInput,
        message:
          /"r\.prompts\.parquet", a table of "r\.json", row group 1 stores \d+ bytes of "text" that decompress to \d+ MiB \(more than 1000×\); the table is damaged/,
      },
    },
    {
      name: 'plot of a results file whose prompts table claims two billion rows',
      setup: (at) => claimRows(at('r.json'), 2_000_000_000),
      args: ['plot', 'r.json', '--figures', 'growth', '--out', 'plots'],
      refusal: { code: ExitCode.badInput, message: /claims 2000000000 prompts/ },
    },
  ];

  for (const testCase of cases) {
    it(`${testCase.refusal ? 'refuses' : 'survives'} ${testCase.name}`, async () => {
      count += 1;
      const dir = join(root, `case-${count}`);
      await cp(base(), dir, { recursive: true });
      await testCase.setup?.((...parts) => join(dir, ...parts));
      const before = await snapshotTree(dir);
      const result = await runCli(testCase.args, { cwd: dir, timeoutMs: 60_000 });
      if (testCase.refusal) {
        assertRefusal(result, testCase.refusal.code, testCase.refusal.message);
        assert.deepEqual(diffTrees(before, await snapshotTree(dir)), [], 'nothing in the case folder changed');
      } else {
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(result.stderr, /unexpected error|Maximum call stack|\n\s+at /);
      }
    });
  }

  // A full disk under the tables, on a tmpfs of six 4 KiB pages: the checkpoint (three pages) fits,
  // the tables and the results file do not (mounting needs root; skipped otherwise).
  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  it('says "no space left on the device" in one line, with what is kept, when the tables do not fit', {
    skip: canMount ? false : 'needs root to mount a small tmpfs',
  }, async () => {
    const dir = join(root, 'full');
    await cp(base(), dir, { recursive: true });
    const small = join(dir, 'small');
    await mkdir(small);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24k', 'tmpfs', small]);
    if (mounted.status !== 0) return; // a container that refuses mounts: nothing to test here
    try {
      const result = await runCli(measure('model', 'small/o.json', '--batch-size', '1'), { cwd: dir });
      assertRefusal(
        result,
        ExitCode.usage,
        /cannot write "small\/o\.[a-z.]+": no space left on the device; (every batch is kept in "small\/o\.json\.checkpoint"|choose another output path)/,
      );
      assert.deepEqual(
        (await readdir(small)).filter((name) => /\.(tmp|partial)$/.test(name)),
        [],
        'no temp file left',
      );
      assert.ok((await readdir(small)).includes('o.json.checkpoint'), 'the checkpoint is kept');
    } finally {
      spawnSync('umount', [small]);
    }
  });

  it('merge onto a full disk says so in one line, and that nothing was written', { skip: canMount ? false : 'needs root to mount a small tmpfs' }, async () => {
    const dir = join(root, 'full-merge');
    await cp(base(), dir, { recursive: true });
    for (const shard of ['1/2', '2/2'])
      assert.equal((await runCli(measure('model', `s${shard[0]}.json`, '--shard', shard, '--batch-size', '1'), { cwd: dir })).code, 0);
    const small = join(dir, 'small');
    await mkdir(small);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', small]).status !== 0) return;
    try {
      const result = await runCli(['merge', 's1.json', 's2.json', '-o', 'small/m.json'], { cwd: dir });
      assertRefusal(
        result,
        ExitCode.usage,
        /cannot write "small\/m\.(tokens|prompts)\.parquet": no space left on the device; nothing was written \(the shards are unchanged\)/,
      );
      assert.deepEqual(await readdir(small), [], 'no temp file or partial table left');
    } finally {
      spawnSync('umount', [small]);
    }
  });
});
