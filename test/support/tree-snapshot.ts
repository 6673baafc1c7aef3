/**
 * The state of a folder tree (every file's sha256, every symlink's target, every folder and
 * special file), so a test can assert that a refused command changed nothing: no input or
 * cache file rewritten, no stray temp file, no output left behind.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

export async function snapshotTree(root: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) return;
    const key = relative(root, path) || '.';
    if (info.isSymbolicLink()) state.set(key, `link → ${await readlink(path)}`);
    else if (info.isDirectory()) {
      state.set(key, 'folder');
      for (const name of (await readdir(path)).sort()) await visit(join(path, name));
    } else if (info.isFile()) state.set(key, `file ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
    else state.set(key, 'special');
  };
  await visit(root);
  return state;
}

/** What changed between two snapshots, one line per path; empty when nothing did. */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  return paths.filter((path) => before.get(path) !== after.get(path)).map((path) => `${path}: ${before.get(path) ?? 'absent'} → ${after.get(path) ?? 'absent'}`);
}
