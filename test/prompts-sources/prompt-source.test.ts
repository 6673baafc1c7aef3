/** Issue 15: --prompts sources, --limit/--sample, and the hash of exactly the prompts used. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { matchesDatasetPath } from '../../src/models/hub/hub-dataset.js';
import { parsePromptSource } from '../../src/prompts-sources/prompt-source.js';
import { describeSelection, hashPrompts, sampleIndices, selectedRows } from '../../src/prompts-sources/prompt-selection.js';

describe('--prompts sources', () => {
  it('tells files, tables and Hub datasets apart', () => {
    assert.deepEqual(parsePromptSource('p.txt'), { kind: 'file', path: 'p.txt' });
    assert.deepEqual(parsePromptSource('p.jsonl'), { kind: 'file', path: 'p.jsonl' });
    assert.deepEqual(parsePromptSource('dir/p.PARQUET'), { kind: 'table', path: 'dir/p.PARQUET', format: 'parquet' });
    assert.deepEqual(parsePromptSource('p.csv'), { kind: 'table', path: 'p.csv', format: 'csv' });
    assert.deepEqual(parsePromptSource('hf://datasets/NeelNanda/pile-10k'), { kind: 'dataset', repo: 'NeelNanda/pile-10k', revision: 'main' });
    assert.deepEqual(parsePromptSource('hf://datasets/o/n@v1.0/data/train-*.parquet'), {
      kind: 'dataset',
      repo: 'o/n',
      revision: 'v1.0',
      path: 'data/train-*.parquet',
    });
    assert.deepEqual(parsePromptSource('hf://datasets/o/n@refs%2Fconvert%2Fparquet'), { kind: 'dataset', repo: 'o/n', revision: 'refs/convert/parquet' });
  });

  for (const [spec, why] of [
    ['', /empty/],
    ['hf://o/n', /dataset repos/],
    ['hf://datasets/o', /not a dataset id/],
    ['hf://datasets/../n', /not a dataset id/],
    ['hf://datasets/o/n@../x', /not a valid revision/],
    ['hf://datasets/o/n@main/../../etc', /inside the repo/],
  ] as const) {
    it(`refuses ${JSON.stringify(spec)} with one line naming it`, () => {
      assert.throws(
        () => parsePromptSource(spec),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, why);
          assert.doesNotMatch(error.message, /\n/);
          return true;
        },
      );
    });
  }

  it('matches dataset paths as files, folders and globs', () => {
    assert.ok(matchesDatasetPath('data/train-0.parquet', undefined));
    assert.ok(matchesDatasetPath('data/train-0.parquet', 'data'));
    assert.ok(matchesDatasetPath('data/train-0.parquet', 'data/'));
    assert.ok(!matchesDatasetPath('database/x.parquet', 'data'));
    assert.ok(matchesDatasetPath('data/train-0.parquet', 'data/train-*.parquet'));
    assert.ok(!matchesDatasetPath('data/test-0.parquet', 'data/train-*.parquet'));
    assert.ok(!matchesDatasetPath('data/sub/train-0.parquet', 'data/*.parquet'));
    assert.ok(matchesDatasetPath('data/sub/train-0.parquet', 'data/**/*.parquet'));
    assert.ok(matchesDatasetPath('data/train-0.parquet', '**/train-*.parquet'));
  });
});

describe('--limit and --sample', () => {
  it('draws the same rows for the same seed, other rows for another, ascending, without repeats', () => {
    const a = sampleIndices(100_000, 50, 0);
    assert.deepEqual(a, sampleIndices(100_000, 50, 0));
    assert.notDeepEqual(a, sampleIndices(100_000, 50, 1));
    assert.equal(new Set(a).size, 50);
    assert.deepEqual(
      a,
      [...a].sort((x, y) => x - y),
    );
    assert.ok(a.every((i) => i >= 0 && i < 100_000));
    assert.deepEqual(sampleIndices(5, 9, 3), [0, 1, 2, 3, 4]);
  });

  it('samples within --limit, and says what it did', () => {
    assert.deepEqual(selectedRows(10, { limit: 3, seed: 0 }), [0, 1, 2]);
    assert.ok(selectedRows(1000, { limit: 20, sample: 5, seed: 4 })!.every((row) => row < 20));
    assert.equal(selectedRows(10, { seed: 0 }), undefined);
    assert.equal(describeSelection(1000, { limit: 20, sample: 5, seed: 4 }), 'sample of 5 from the first 20 of 1000 (seed 4)');
    assert.equal(describeSelection(1000, { limit: 20, seed: 0 }), 'first 20 of 1000');
  });

  it('hashes exactly the prompts used: the sha256 of a JSONL file holding just them', () => {
    const prompts = [
      { line: 1, text: 'a "quoted" text' },
      { line: 7, ids: [50256, 464] },
      { line: 9, text: 'ünïcode\nline' },
    ];
    const jsonl = '{"text":"a \\"quoted\\" text"}\n{"ids":[50256,464]}\n{"text":"ünïcode\\nline"}\n';
    assert.equal(hashPrompts(prompts), createHash('sha256').update(jsonl).digest('hex'));
    assert.notEqual(hashPrompts(prompts.slice(0, 2)), hashPrompts(prompts));
  });
});
