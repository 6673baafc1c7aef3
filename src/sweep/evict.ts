/**
 * `sweep --evict`: once a member is measured, remove its model snapshot from the Hugging Face
 * cache so a sweep over 154 checkpoints needs the disk of one. Safe by construction:
 *   - only snapshots/<sha> of the member's own repo folder is touched, found from the cache
 *     root, the repo id and a 40-digit sha, and checked to lie inside the cache (no symlink on
 *     the way);
 *   - a blob is deleted only when it is the target of one of that snapshot's weight links
 *     (*.safetensors, pytorch_model*.bin, an index), lies in the repo's blobs/ folder with a hash for a name, and
 *     no other snapshot of the repo links to it (a revision kept, e.g. main = step143000);
 *   - config and tokenizer blobs stay (kilobytes, shared by every checkpoint);
 *   - refs that name the sha are removed, so the cache never points at a missing snapshot;
 *   - nothing is deleted through a symlinked folder: the repo folder, its blobs/ and refs/ must
 *     be plain folders inside the cache (a `blobs` link to elsewhere is left alone, with its files).
 */
import { lstat, readdir, readlink, realpath, rm, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { COMMIT_SHA, repoFolder, snapshotDir } from '../models/hub/hub-cache.js';
import { isWeightFileName } from '../models/weight-formats.js';
import { readRegularFile } from '../io/read-regular-file.js';

export interface Eviction {
  /** Bytes of the blobs deleted. */
  bytes: number;
  blobs: number;
  /** Blobs of the snapshot kept because another snapshot links to them. */
  shared: number;
  /** Why nothing was removed, when the snapshot is not a plain folder inside the cache. */
  leftAlone?: string;
}

const BLOB_NAME = /^[0-9a-f]{40,64}$/;
const isWeightLink = isWeightFileName;

function inside(parent: string, path: string): boolean {
  const rel = relative(parent, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Every symlink under `dir` (folders walked without following links): link path → target path. */
async function linksUnder(dir: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = join(folder, entry.name);
      if (entry.isSymbolicLink()) links.set(path, resolve(dirname(path), await readlink(path)));
      else if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(dir);
  return links;
}

export async function evictSnapshot(cacheDir: string, repo: string, sha: string): Promise<Eviction> {
  if (!COMMIT_SHA.test(sha)) throw new Error(`evictSnapshot: ${JSON.stringify(sha)} is not a commit sha`);
  const cacheRoot = await realpath(cacheDir);
  const repoDir = repoFolder(cacheRoot, repo);
  const snapshots = join(repoDir, 'snapshots');
  const target = snapshotDir(cacheRoot, repo, sha);
  if (!inside(cacheRoot, target) || dirname(target) !== snapshots) throw new Error(`evictSnapshot: ${target} is not a snapshot inside ${cacheRoot}`);
  // No symlinked folder on the way: the real path must be the path itself.
  const info = await lstat(target).catch(() => undefined);
  if (info === undefined) return { bytes: 0, blobs: 0, shared: 0 };
  if (!info.isDirectory() || (await realpath(target)) !== target)
    return { bytes: 0, blobs: 0, shared: 0, leftAlone: `${target} is not a plain folder of the cache (a symbolic link?)` };

  const blobs = join(repoDir, 'blobs');
  const blobsArePlain = await isPlainFolder(blobs); // a linked blobs/ would lead the deletes outside the cache
  const kept = new Set<string>();
  for (const name of await readdir(snapshots)) {
    if (name === sha) continue;
    for (const linked of (await linksUnder(join(snapshots, name))).values()) kept.add(linked);
  }
  const eviction: Eviction = { bytes: 0, blobs: 0, shared: 0 };
  for (const [link, blob] of await linksUnder(target)) {
    if (!isWeightLink(basename(link))) continue;
    if (!blobsArePlain || dirname(blob) !== blobs || !BLOB_NAME.test(basename(blob))) continue; // not a blob of this repo: never followed
    if (kept.has(blob)) {
      eviction.shared += 1;
      continue;
    }
    const blobInfo = await lstat(blob).catch(() => undefined);
    if (blobInfo === undefined || !blobInfo.isFile()) continue;
    await unlink(blob);
    eviction.bytes += blobInfo.size;
    eviction.blobs += 1;
  }
  await rm(target, { recursive: true, force: true }); // symlinks and folders only: rm never follows links
  if (await isPlainFolder(join(repoDir, 'refs'))) await removeRefsTo(join(repoDir, 'refs'), sha);
  return eviction;
}

/** A folder reached without any symlink on the way (its real path is the path itself). */
async function isPlainFolder(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  return info?.isDirectory() === true && (await realpath(path).catch(() => '')) === path;
}

async function removeRefsTo(refs: string, sha: string): Promise<void> {
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (
        entry.isFile() &&
        (await readRegularFile(path).then(
          (bytes) => bytes.toString('utf8').trim(),
          () => '',
        )) === sha
      )
        await unlink(path);
    }
  };
  await walk(refs);
}
