/** The tree snapshot behind every "a refused command changed nothing" check sees each kind of change. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diffTrees, snapshotTree } from './tree-snapshot.js';

describe('snapshotTree and diffTrees', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-tree-snapshot-'));
    await mkdir(join(root, 'folder'));
    await writeFile(join(root, 'folder', 'file.txt'), 'same bytes');
    await symlink('folder/file.txt', join(root, 'link'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('finds nothing when nothing changed, and every change when something did', async () => {
    const first = await snapshotTree(root);
    assert.deepEqual(diffTrees(first, await snapshotTree(root)), []);
    await new Promise((resolve) => setTimeout(resolve, 5)); // past the file system's time resolution
    await writeFile(join(root, 'folder', 'file.txt'), 'same bytes'); // rewritten, not changed
    await writeFile(join(root, 'stray.partial'), '');
    await rm(join(root, 'link'));
    await symlink('elsewhere', join(root, 'link'));
    const changes = diffTrees(first, await snapshotTree(root));
    assert.deepEqual(
      changes.map((line) => line.split(':')[0]),
      ['folder/file.txt', 'link', 'stray.partial'],
      changes.join('\n'),
    );
  });
});
