/**
 * The small files of the Hub's side that are not downloads: the token file is read only as a
 * regular file (a FIFO there must not hang every run), and refs are written through an exclusive
 * temp file, never through a link planted at their name.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { refPath, writeRef } from '../../src/models/hub/hub-cache.js';
import { readHubSettings } from '../../src/models/hub/hub-settings.js';

const SHA = 'a'.repeat(40);

describe('Hub cache side files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-hub-files-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads a token file, and ignores a FIFO at its name at once instead of waiting for a writer', async () => {
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'token'), 'hf_fromfile\n');
    assert.equal(readHubSettings({ HF_HOME: home }).token, 'hf_fromfile');
    const fifoHome = join(dir, 'fifo-home');
    await mkdir(fifoHome, { recursive: true });
    execFileSync('mkfifo', [join(fifoHome, 'token')]);
    const started = Date.now();
    assert.equal(readHubSettings({ HF_HOME: fifoHome }).token, undefined);
    assert.ok(Date.now() - started < 2000);
  });

  it('writes a ref over a symlink planted at its name without writing through it', async () => {
    const cache = join(dir, 'cache');
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'keep me');
    const path = refPath(cache, 'o/n', 'main');
    await mkdir(join(path, '..'), { recursive: true });
    await symlink(victim, path);
    await writeRef(cache, 'o/n', 'main', SHA);
    assert.equal(await readFile(victim, 'utf8'), 'keep me');
    assert.ok((await lstat(path)).isFile());
    assert.equal(await readFile(path, 'utf8'), SHA);
  });
});
