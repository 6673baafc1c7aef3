/**
 * Every file a command will write, checked together before the first one is written: each must
 * be a writable place (no folder, FIFO or device in its way, a parent that can be created),
 * none may be another of the command's outputs (`fit --out x --junit x`) or one of the files it
 * read (by device + inode, or by real path for a file not there yet), and a file inside the
 * folder it belongs to (`report --out r/` → `r/figures/growth.svg`) must not be reached through a
 * symbolic link below that folder. Then the files are written, each atomically
 * (src/io/output-file.ts). So `report` refuses an `index.html` that is a folder before it draws
 * ten figures, not after.
 */
import { lstat, unlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UsageError, quote } from '../errors.js';
import { checkOutputFile, identifyPath, refuseOutputOverInput, type InputFile } from './output-guard.js';
import { writeFileAtomic } from './output-file.js';

export interface PlannedOutput {
  /** The flag that chose it, for messages ("--out", "--junit"). */
  flag: string;
  path: string;
  /** The folder the file belongs to (an --out folder): nothing between it and the file may be a symlink. */
  root?: string;
}

/**
 * Refuse (UsageError) a path below `root` that passes through a symbolic link (a link planted
 * at `figures/` would send the figures elsewhere), or a path that is not below `root` at all.
 * `root` itself may be a link: the user named it. For a `file`, only the folders on the way are
 * checked: a link at the file's own name is replaced by the write, not followed.
 */
export async function refuseLinksBelow(root: string, path: string, flag: string, { file = false } = {}): Promise<void> {
  const rel = relative(resolve(root), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
    throw new UsageError(`${quote(path)} is not inside ${flag} ${quote(root)}; outputs stay in the folder they belong to`);
  const parts = rel.split(sep);
  let current = resolve(root);
  for (const part of file ? parts.slice(0, -1) : parts) {
    current = join(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (info === undefined) return; // created by the write, as a plain folder or file
    if (info.isSymbolicLink()) {
      throw new UsageError(
        `cannot write ${quote(path)}: ${quote(relative(process.cwd(), current) || current)} is a symbolic link, and outputs in ${flag} ${quote(root)} are never written through links; remove it or choose another ${flag}`,
      );
    }
  }
}

/**
 * Delete one file a command wrote earlier inside `root` (a figure no longer drawn, a failure
 * record), only once it is proven to be there: no symbolic link between `root` and it, and it
 * is a file or a link (removed itself, never what it points to), not a folder. Absent is fine.
 */
export async function removeFileInside(root: string, path: string, flag: string): Promise<void> {
  await refuseLinksBelow(root, path, flag, { file: true }); // the file itself may be a link: unlink removes the link
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isFile() && !info.isSymbolicLink())
    throw new UsageError(`cannot remove ${quote(path)}: it is not a file (a folder or special file is in the way); remove it yourself`);
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw new UsageError(`cannot remove ${quote(path)}: ${error.code ?? error.message}; remove it yourself`);
  });
}

export class OutputPlan {
  private readonly planned: Set<string>;

  private constructor(outputs: readonly PlannedOutput[]) {
    this.planned = new Set(outputs.map((output) => resolve(output.path)));
  }

  /** Check every output (see the module comment), then return the plan that writes them. */
  static async check(outputs: readonly PlannedOutput[], inputs: readonly InputFile[]): Promise<OutputPlan> {
    for (const output of outputs) {
      if (output.root !== undefined) await refuseLinksBelow(output.root, output.path, output.flag, { file: true });
      await checkOutputFile(output.path);
    }
    const seen = new Map<string, PlannedOutput>(); // by real path and by dev:ino
    for (const output of outputs) {
      const id = await identifyPath(output.path);
      for (const key of [`path:${id.real}`, ...(id.inode ? [`inode:${id.inode}`] : [])]) {
        const other = seen.get(key);
        if (other !== undefined)
          throw new UsageError(`${other.flag} ${quote(other.path)} and ${output.flag} ${quote(output.path)} are the same file; give each output its own path`);
        seen.set(key, output);
      }
    }
    await refuseOutputOverInput(outputs, inputs);
    return new OutputPlan(outputs);
  }

  /** Write one of the planned files atomically. */
  async write(path: string, content: string | Uint8Array): Promise<void> {
    if (!this.planned.has(resolve(path))) throw new Error(`OutputPlan.write: ${path} was not planned`);
    await writeFileAtomic(path, content);
  }
}
