/**
 * Issue 26, class 1: a file name the Hub lists (a dataset's Parquet files, a model's files) that
 * would lead out of the snapshot folder is refused where the snapshot's link is made, so
 * nothing is written, and nothing read as prompts, outside the cache's snapshot.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { linkSnapshotFile, snapshotDir } from '../../src/models/hub/hub-cache.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

const SHA = 'a'.repeat(40);
const ETAG = 'b'.repeat(64);
const REPO = 'datasets/o/n';

describe('snapshot links stay inside their snapshot', () => {
  let root: string;
  const cache = () => join(root, 'cache');
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-links-'));
    await mkdir(join(cache(), 'datasets--o--n', 'blobs'), { recursive: true });
    await writeFile(join(cache(), 'datasets--o--n', 'blobs', ETAG), 'parquet bytes');
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const name of ['../escape.parquet', 'data/../../escape.parquet', '../../../../escape.parquet', '..', '.', 'data/..']) {
    it(`refuses a file named ${JSON.stringify(name)}`, async () => {
      const before = await snapshotTree(root);
      await assert.rejects(linkSnapshotFile(cache(), REPO, SHA, name, ETAG), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.match(error.message, /lists a file ".*" whose name leads out of its snapshot folder; refused/);
        return true;
      });
      assert.deepEqual(diffTrees(before, await snapshotTree(root)), [], 'nothing was created or changed');
    });
  }

  for (const name of ['data/train.parquet', 'a..b.parquet', '..data/x.parquet', 'deep/er/x.parquet', '/etc/joined-below.parquet']) {
    it(`links a file named ${JSON.stringify(name)} inside the snapshot`, async () => {
      const pointer = await linkSnapshotFile(cache(), REPO, SHA, name, ETAG);
      assert.equal(pointer, join(snapshotDir(cache(), REPO, SHA), name));
      assert.ok((await readdir(snapshotDir(cache(), REPO, SHA))).length > 0);
    });
  }
});
