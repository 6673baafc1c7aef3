/**
 * The state of a folder tree (every file's inode, size and modification and change times,
 * every symlink's target, every folder and special file), so a test can assert that a refused
 * command changed nothing: no input or cache file rewritten, no stray temp file, no output left
 * behind. A write, even of the same bytes, moves a file's change time (ctime), which no
 * process can set back; so the times catch what content hashes would, and more, without
 * reading every file twice per check.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join, relative } from 'node:path';

export async function snapshotTree(root: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const visit = (path: string): void => {
    let info: BigIntStats;
    try {
      info = lstatSync(path, { bigint: true });
    } catch {
      return;
    }
    const key = relative(root, path) || '.';
    if (info.isSymbolicLink()) state.set(key, `link → ${readlinkSync(path)}`);
    else if (info.isDirectory()) {
      state.set(key, 'folder');
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    } else if (info.isFile()) state.set(key, `file inode ${info.ino}, ${info.size} bytes, modified ${info.mtimeNs}, changed ${info.ctimeNs}`);
    else state.set(key, 'special');
  };
  visit(root);
  return state;
}

/** What changed between two snapshots, one line per path; empty when nothing did. */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  return paths
    .filter((path) => before.get(path) !== after.get(path))
    .map((path) => `${path}: ${before.get(path) ?? 'absent'} → ${after.get(path) ?? 'absent'}`);
}
