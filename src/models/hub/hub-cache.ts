/**
 * The Hugging Face cache layout, shared with Python's huggingface_hub:
 *   <cache>/models--{owner}--{name}/refs/{revision}        → commit sha
 *   <cache>/models--{owner}--{name}/blobs/{etag}            → file bytes (etag = sha256 for LFS files)
 *   <cache>/models--{owner}--{name}/snapshots/{sha}/{file}  → relative symlink to the blob
 * and the same under datasets--{owner}--{name} for dataset repos.
 */
import { lstat, mkdir, stat, symlink, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { InputError, UsageError, quote } from '../../errors.js';
import { describeSpecial } from '../../io/output-guard.js';
import { writeFileAtomic } from '../../io/output-file.js';
import { readRegularFile } from '../../io/read-regular-file.js';

export const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** Dataset repos are named as the Hub client names them, `datasets/{owner}/{name}`; their folder is `datasets--{owner}--{name}`. */
export const DATASET_PREFIX = 'datasets/';

export function repoFolder(cacheDir: string, repo: string): string {
  const [kind, name] = repo.startsWith(DATASET_PREFIX) ? ['datasets', repo.slice(DATASET_PREFIX.length)] : ['models', repo];
  return join(cacheDir, `${kind}--${name.split('/').join('--')}`);
}

export function snapshotDir(cacheDir: string, repo: string, sha: string): string {
  return join(repoFolder(cacheDir, repo), 'snapshots', sha);
}

export function blobPath(cacheDir: string, repo: string, etag: string): string {
  return join(repoFolder(cacheDir, repo), 'blobs', etag);
}

/**
 * refs/<revision> of a repo. Revisions are checked where --model is parsed; this is the second
 * lock: a path that would leave the refs folder is refused, whatever called.
 */
export function refPath(cacheDir: string, repo: string, revision: string): string {
  const refs = join(repoFolder(cacheDir, repo), 'refs');
  const path = join(refs, revision);
  const inside = relative(refs, path);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || /[\u0000-\u001f]/.test(revision)) {
    throw new UsageError(
      `revision ${quote(revision)} of ${quote(repo)} is not a valid revision (it leads out of the cache's refs folder); give a branch, tag or commit sha`,
    );
  }
  return path;
}

/** The commit a revision points to in the cache (the revision itself if it is a sha). */
export async function readCachedRef(cacheDir: string, repo: string, revision: string): Promise<string | undefined> {
  if (COMMIT_SHA.test(revision)) return revision;
  const path = refPath(cacheDir, repo, revision);
  try {
    const sha = (await readRegularFile(path)).toString('utf8').trim(); // a FIFO in the cache must not hang an offline run
    return COMMIT_SHA.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRef(cacheDir: string, repo: string, revision: string, sha: string): Promise<void> {
  if (revision === sha) return;
  const path = refPath(cacheDir, repo, revision);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, sha, 'check the permissions of the Hugging Face cache (HF_HUB_CACHE)'); // exclusive temp file, never through a link
}

/**
 * What a cache entry is, links followed: 'file' (a regular file, safe to open), 'missing', or
 * the words for anything else ("a FIFO (named pipe)", "a folder"…). A FIFO opened for reading
 * waits forever for a writer, so nothing in the cache is opened before this says 'file'.
 */
export async function cacheEntryKind(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (info.isFile()) return 'file';
    return info.isDirectory() ? 'a folder' : describeSpecial(info);
  } catch {
    return 'missing';
  }
}

/** The size of a regular file in the cache; undefined when it is missing or not a regular file. */
export async function regularFileSize(path: string): Promise<number | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ? info.size : undefined;
}

/** Point snapshots/{sha}/{file} at the blob with a relative symlink, as huggingface_hub does. */
export async function linkSnapshotFile(cacheDir: string, repo: string, sha: string, file: string, etag: string): Promise<string> {
  const pointer = join(snapshotDir(cacheDir, repo, sha), file);
  if (!/^(?!\.\.(?:[/\\]|$))[^/\\]/.test(relative(snapshotDir(cacheDir, repo, sha), pointer)))
    throw new InputError(
      `${quote(repo)} lists a file ${quote(file)} whose name leads out of its snapshot folder; refused (nothing is written outside the cache's snapshot)`,
    );
  await mkdir(dirname(pointer), { recursive: true });
  const target = relative(dirname(pointer), blobPath(cacheDir, repo, etag));
  if (
    await lstat(pointer).then(
      () => true,
      () => false,
    )
  )
    await unlink(pointer);
  await symlink(target, pointer);
  return pointer;
}
