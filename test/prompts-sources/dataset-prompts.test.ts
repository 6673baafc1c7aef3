/**
 * Issue 15: prompts from Hub datasets (Parquet shards, through the fake Hub into the Python
 * cache layout) and from local .parquet and .csv files.
 */
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { InputError, NetworkError, UsageError } from '../../src/errors.js';
import { hashPrompts } from '../../src/prompts-sources/prompt-selection.js';
import { parsePromptSource, type PromptReadOptions } from '../../src/prompts-sources/prompt-source.js';
import { readPromptSource } from '../../src/prompts-sources/read-prompt-source.js';
import { FakeHub, fakeSha } from '../support/fake-hub.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { measure } from '../../src/commands/measure.js';

const DATASET = 'test-org/tiny-pile';
const SHA = fakeSha('tiny-pile');

function parquetOf(texts: Array<string | null>, start: number): Buffer {
  return Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: texts.map((_, i) => start + i), type: 'INT32' },
        { name: 'text', data: texts, type: 'STRING' },
        { name: 'meta', data: texts.map(() => 'x'), type: 'STRING' },
      ],
    }),
  );
}

const rowText = (i: number) => `row ${i}: ${'word '.repeat(i % 7)}end`;

describe('prompts from Hub datasets and local tables', () => {
  let root: string;
  let hub: FakeHub;
  let cache: string;
  const reporter = createSilentReporter();
  const read = (spec: string, options: PromptReadOptions = {}, env: NodeJS.ProcessEnv = {}) =>
    readPromptSource(parsePromptSource(spec), options, { reporter, env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, RESID_NORMS_HUB_RETRY_MS: '5', ...env } });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-dataset-'));
    hub = new FakeHub();
    const first = Array.from({ length: 30 }, (_, i) => rowText(i));
    const second: Array<string | null> = Array.from({ length: 25 }, (_, i) => rowText(30 + i));
    second[3] = null; // a missing text is left out, with a warning
    hub.datasets.set(DATASET, {
      sha: SHA,
      files: new Map([
        ['README.md', Buffer.from('# tiny pile\n')],
        ['data/train-00000-of-00002.parquet', parquetOf(first, 0)],
        ['data/train-00001-of-00002.parquet', parquetOf(second, 30)],
        ['data/test-00000-of-00001.parquet', parquetOf(['a test row'], 0)],
      ]),
      revisions: { v0: { sha: fakeSha('tiny-pile v0'), files: new Map([['data/train.parquet', parquetOf(['old row'], 0)]]) } },
    });
    await hub.start();
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    cache = await mkdtemp(join(root, 'cache-'));
    hub.log.length = 0;
  });

  it('reads every shard in path order into the datasets-- cache layout, and hashes the texts used', async () => {
    const set = await read(`hf://datasets/${DATASET}/data/train-*.parquet`);
    const expected = Array.from({ length: 55 }, (_, i) => rowText(i)).filter((_, i) => i !== 33);
    assert.deepEqual(
      set.prompts.map((prompt) => prompt.text),
      expected,
    );
    assert.equal(set.sha256, hashPrompts(expected.map((text) => ({ line: 0, text }))));
    assert.match(set.source, new RegExp(`^hf://datasets/${DATASET}@${SHA}/data/train-\\*\\.parquet \\(column "text", all 55 rows, 1 empty left out\\)$`));
    const folder = join(cache, 'datasets--test-org--tiny-pile');
    assert.equal((await readFile(join(folder, 'refs', 'main'), 'utf8')).trim(), SHA);
    const link = join(folder, 'snapshots', SHA, 'data', 'train-00000-of-00002.parquet');
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.match(await readlink(link), /^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
    assert.deepEqual(
      await readdir(join(folder, 'snapshots', SHA, 'data')),
      ['train-00000-of-00002.parquet', 'train-00001-of-00002.parquet'],
      'the test split and README were not fetched',
    );
    assert.ok(hub.log.some((entry) => entry.url.startsWith(`/datasets/${DATASET}/resolve/${SHA}/`)));
  });

  it('--limit and a seeded --sample choose rows; the same seed gives the same prompts, and a cached dataset is read offline', async () => {
    const limited = await read(`hf://datasets/${DATASET}/data/train-*.parquet`, { selection: { limit: 4, seed: 0 } });
    assert.deepEqual(
      limited.prompts.map((prompt) => prompt.text),
      [0, 1, 2, 3].map(rowText),
    );
    const sample = await read(`hf://datasets/${DATASET}/data/train-*`, { selection: { sample: 10, seed: 7 } });
    const again = await read(`hf://datasets/${DATASET}/data/train-*`, { selection: { sample: 10, seed: 7 } }, { HF_HUB_OFFLINE: '1' });
    assert.deepEqual(again.prompts, sample.prompts);
    assert.equal(again.sha256, sample.sha256);
    assert.equal(again.sha256, hashPrompts(again.prompts));
    const other = await read(`hf://datasets/${DATASET}/data/train-*`, { selection: { sample: 10, seed: 8 } });
    assert.notEqual(other.sha256, sample.sha256);
    assert.ok(sample.prompts.length >= 9 && sample.prompts.length <= 10, 'a sampled null row is left out');
  });

  it('measure records the dataset source with its commit and the hash of exactly the prompts it measured', async () => {
    const tiny = await writeTinyGpt2(join(root, 'tiny'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 64 });
    const spec = `hf://datasets/${DATASET}/data/train-*.parquet`;
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache };
    const { measurement } = await measure(
      {
        model: tiny.dir,
        promptsPath: spec,
        promptOptions: { selection: { sample: 6, seed: 2 } },
        outPath: join(root, 'measured', 'tiny.json'),
        batchSize: 4,
        prependBos: true,
        exclusions: true,
        device: 'cpu',
        threads: 1,
        refresh: false,
        env,
      },
      createSilentReporter(),
    );
    const read = await readPromptSource(parsePromptSource(spec), { selection: { sample: 6, seed: 2 } }, { reporter, env });
    assert.equal(measurement.prompts.sha256, read.sha256);
    assert.equal(measurement.prompts.count, read.prompts.length);
    assert.match(measurement.prompts.source, new RegExp(`@${SHA}/data/train-\\*\\.parquet \\(column "text", sample of 6 from 55 \\(seed 2\\)`));
  });

  it('reads another revision with its own files, and another text column', async () => {
    assert.deepEqual(
      (await read(`hf://datasets/${DATASET}@v0`)).prompts.map((prompt) => prompt.text),
      ['old row'],
    );
    assert.deepEqual(
      (await read(`hf://datasets/${DATASET}/data/test-00000-of-00001.parquet`, { textColumn: 'meta' })).prompts.map((prompt) => prompt.text),
      ['x'],
    );
  });

  it('refuses an unknown dataset, revision or column, and an oversized sample, in one line', async () => {
    await assert.rejects(
      read('hf://datasets/test-org/nope'),
      (error: unknown) => error instanceof InputError && /dataset "test-org\/nope" \(revision "main"\) not found/.test(error.message),
    );
    await assert.rejects(read(`hf://datasets/${DATASET}@v9`), (error: unknown) => error instanceof InputError && /revision "v9"/.test(error.message));
    await assert.rejects(
      read(`hf://datasets/${DATASET}/nothing-here`),
      (error: unknown) => error instanceof InputError && /no Parquet file under "nothing-here"/.test(error.message),
    );
    await assert.rejects(
      read(`hf://datasets/${DATASET}/data/train-*`, { textColumn: 'body' }),
      (error: unknown) => error instanceof UsageError && /no such column; its columns: id, text, meta/.test(error.message),
    );
    await assert.rejects(
      read(`hf://datasets/${DATASET}/data/train-*`, { textColumn: 'id' }),
      (error: unknown) => error instanceof UsageError && /holds INTEGER, not text/.test(error.message),
    );
    await assert.rejects(
      read(`hf://datasets/${DATASET}/data/train-*`, { selection: { limit: 5, sample: 6, seed: 0 } }),
      (error: unknown) => error instanceof UsageError && /--sample 6 is more than the 5 prompts .* within --limit; valid: 1…5/.test(error.message),
    );
    await assert.rejects(
      read(`hf://datasets/${DATASET}@v0`, {}, { HF_HUB_OFFLINE: '1' }),
      (error: unknown) => error instanceof NetworkError && /HF_HUB_OFFLINE is set and dataset .*@v0" is not in the cache/.test(error.message),
    );
  });

  it('reads local .parquet and .csv files (quoted commas, quotes and newlines), and applies --limit to text files', async () => {
    const parquet = join(root, 'p.parquet');
    await writeFile(parquet, parquetOf(['one', 'two', 'three'], 0));
    assert.deepEqual(
      (await read(parquet)).prompts.map((prompt) => prompt.text),
      ['one', 'two', 'three'],
    );
    const csv = join(root, 'p.csv');
    await writeFile(csv, 'id,body\n1,"Hello, there ""friend"""\n2,"two\nlines"\n3,plain\n');
    const set = await read(csv, { textColumn: 'body' });
    assert.deepEqual(
      set.prompts.map((prompt) => prompt.text),
      ['Hello, there "friend"', 'two\nlines', 'plain'],
    );
    assert.equal(set.sha256, hashPrompts(set.prompts));
    const text = join(root, 'p.txt');
    await writeFile(text, 'a\nb\nc\n');
    const whole = await read(text);
    const limited = await read(text, { selection: { limit: 2, seed: 0 } });
    assert.deepEqual(
      limited.prompts.map((prompt) => prompt.text),
      ['a', 'b'],
    );
    assert.notEqual(limited.sha256, whole.sha256);
    await assert.rejects(read(text, { textColumn: 'x' }), (error: unknown) => error instanceof UsageError && /--text-column applies to/.test(error.message));
    await assert.rejects(read(join(root, 'missing.parquet')), (error: unknown) => error instanceof InputError && /no such file/.test(error.message));
    await writeFile(join(root, 'bad.parquet'), 'not parquet at all');
    await assert.rejects(read(join(root, 'bad.parquet')), (error: unknown) => error instanceof InputError && !/\n/.test(error.message));
  });
});
