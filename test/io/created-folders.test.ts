/**
 * io/created-folders.ts: the folders a command made for its output go again when it keeps
 * nothing, innermost first and only while empty; folders that were there before, and anything
 * holding a file, stay.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFolders, removeCreatedFolders } from '../../src/io/created-folders.js';

describe('createFolders and removeCreatedFolders', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-created-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('removes every folder it made, and none that existed', async () => {
    await mkdir(join(root, 'kept'));
    const created = await createFolders(join(root, 'kept', 'a', 'b', 'c'));
    assert.equal(created.outermost, join(root, 'kept', 'a'));
    await removeCreatedFolders(created);
    assert.ok(!existsSync(join(root, 'kept', 'a')), 'the folders it made are gone');
    assert.ok(existsSync(join(root, 'kept')), 'the folder that was there stays');
  });

  it('stops at the first folder that holds something, and removes nothing when it made nothing', async () => {
    const created = await createFolders(join(root, 'x', 'y', 'z'));
    await writeFile(join(root, 'x', 'y', 'someone-else.txt'), 'kept');
    await removeCreatedFolders(created);
    assert.ok(!existsSync(join(root, 'x', 'y', 'z')), 'the empty innermost folder goes');
    assert.ok(existsSync(join(root, 'x', 'y', 'someone-else.txt')), 'a folder with a file in it stays, and so do its parents');
    const again = await createFolders(join(root, 'x', 'y'));
    assert.equal(again.outermost, undefined);
    await removeCreatedFolders(again);
    assert.ok(existsSync(join(root, 'x', 'y')));
  });
});
