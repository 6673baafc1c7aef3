/**
 * Folders a command creates for its output, and their removal when it fails before keeping
 * anything in them: a refused or failed run leaves the file system as it found it. Only folders
 * this process created are removed, and only while empty (rmdir never removes a folder with
 * anything in it, nor follows a symlink at its name).
 */
import { mkdir, rmdir } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';

/** Folders made by createFolders: the one asked for and the first (outermost) one that did not exist. */
export interface CreatedFolders {
  folder: string;
  /** Absent when the folder existed already. */
  outermost?: string;
}

/** mkdir -p, remembering what it made. */
export async function createFolders(folder: string): Promise<CreatedFolders> {
  const outermost = await mkdir(folder, { recursive: true });
  return outermost === undefined ? { folder } : { folder, outermost };
}

/** Remove the folders `created` made, innermost first, as long as each is empty; never throws. */
export async function removeCreatedFolders(created: CreatedFolders): Promise<void> {
  if (created.outermost === undefined) return;
  const outermost = resolve(created.outermost);
  let folder = resolve(created.folder);
  for (;;) {
    try {
      await rmdir(folder);
    } catch {
      return; // not empty (or gone, or not ours to remove): what is outside it stays too
    }
    if (folder === outermost) return;
    const parent = dirname(folder);
    if (parent !== outermost && !parent.startsWith(outermost + sep)) return;
    folder = parent;
  }
}
