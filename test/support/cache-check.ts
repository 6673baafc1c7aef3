/**
 * What a refused download may leave in a Hugging Face cache: `.incomplete` files, and blobs
 * whose content is what their name says (sha256, or the git blob sha1 of a small file) because
 * they were checked before they were renamed into place. No ref may be written. Anything else
 * (a blob whose bytes differ from its name, a ref, a temp file) is reported, one line each.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gitOid, sha256 } from './fake-hub-serve.js';

async function walk(dir: string, found: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, found);
    else found.push(path);
  }
  return found;
}

/** Problems of the cache after a refused run: empty when it holds only checked blobs, their links and partial files. */
export async function refusedCacheProblems(cacheDir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const path of await walk(cacheDir)) {
    const inCache = relative(cacheDir, path);
    const [, area] = inCache.split('/');
    const info = await lstat(path);
    if (area === 'refs') problems.push(`${inCache}: a ref was written for a refused download`);
    else if (area === 'blobs' && !inCache.endsWith('.incomplete')) {
      if (!info.isFile()) problems.push(`${inCache}: not a regular file`);
      else {
        const bytes = await readFile(path);
        const name = inCache.split('/').pop()!;
        if (name !== sha256(bytes) && name !== gitOid(bytes)) problems.push(`${inCache}: its bytes do not have the hash it is named by`);
      }
    } else if (area === 'snapshots' && !info.isSymbolicLink()) problems.push(`${inCache}: a snapshot entry that is not a link to a blob`);
    else if (area !== 'blobs' && area !== 'snapshots') problems.push(`${inCache}: not part of the cache layout`);
  }
  return problems;
}
