/**
 * The output guard on its own (issue 16, class 1): identity by inode and by real path, folder
 * outputs, and the writability checks, without a command around them.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { checkOutputFile, checkOutputFolder, refuseOutputOverInput } from '../../src/io/output-guard.js';

describe('output guard', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-guard-'));
    await mkdir(join(root, 'in'));
    await writeFile(join(root, 'in', 'a.txt'), 'a');
    await symlink(join(root, 'in'), join(root, 'in-link'));
    await symlink(join(root, 'in-link'), join(root, 'in-link-link'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const input = () => [{ path: join(root, 'in', 'a.txt'), what: 'the prompt file' }];

  it('finds an input through a chain of symlinked folders', async () => {
    await assert.rejects(refuseOutputOverInput([{ flag: '--out', path: join(root, 'in-link-link', 'a.txt') }], input()), UsageError);
  });

  it('finds an input that is missing yet (a name the loader would read) through a symlinked folder', async () => {
    const missing = [{ path: join(root, 'in', 'not-yet.json'), what: 'the model file' }];
    await assert.rejects(refuseOutputOverInput([{ flag: '--out', path: join(root, 'in-link', 'not-yet.json') }], missing), /is the model file/);
  });

  it('lets other names through, and folder outputs only clash with names they write', async () => {
    await refuseOutputOverInput([{ flag: '--out', path: join(root, 'in', 'b.txt') }], input());
    await refuseOutputOverInput([{ flag: '--out', folder: join(root, 'in-link'), writes: (name) => name.endsWith('.svg') }], input());
    await assert.rejects(
      refuseOutputOverInput([{ flag: '--out', folder: join(root, 'in-link'), writes: (name) => name.endsWith('.txt') }], input()),
      /would overwrite "a\.txt"/,
    );
  });

  it('refuses outputs that cannot be written, and leaves no probe behind', async () => {
    await assert.rejects(checkOutputFile(join(root, 'in')), /it is a folder/);
    await assert.rejects(checkOutputFile(join(root, 'in', 'a.txt', 'x.json')), /a file is in the way/);
    await assert.rejects(checkOutputFolder(join(root, 'in', 'a.txt'), '--out'), /cannot create output folder .*a file is in the way/);
    await checkOutputFile(join(root, 'new', 'deeper', 'r.json'));
    await checkOutputFolder(join(root, 'new-folder'), '--out');
    assert.deepEqual((await readdir(root)).sort(), ['in', 'in-link', 'in-link-link']);
  });
});
