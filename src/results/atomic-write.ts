/**
 * Atomic file writes: write a temp file beside the target, fsync, then rename over it, so a
 * crash or a kill never leaves a partial or corrupt output file. The temp file is removed on
 * any failure, and the next write to the same target removes temp files that a killed process
 * (kill -9) left behind. Hand-written rather than `write-file-atomic` for that clean-up and for
 * the one-line messages.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError, quote } from '../errors.js';
import { isProcessAlive } from '../io/process-alive.js';

function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Temp files of `target` whose writing process is gone: what a kill -9 mid-write leaves. */
async function removeStaleTemps(target: string): Promise<void> {
  const prefix = `.${basename(target)}.`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    const match = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (match && !isProcessAlive(Number(match[1]))) await rm(join(dirname(target), name), { force: true });
  }
}

/**
 * Write `content` to `target` atomically, creating parent folders as needed. A target that
 * cannot be written is a UsageError naming it (the user chose the path).
 */
export async function writeFileAtomic(target: string, content: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(target);
  let handle: FileHandle;
  try {
    await mkdir(dirname(target), { recursive: true });
    await removeStaleTemps(target);
    handle = await open(temp, 'wx');
  } catch (error) {
    throw cannotWrite(target, error);
  }
  try {
    await handle.writeFile(content); // every byte, however many write calls it takes
    await handle.sync();
    await handle.close();
    await rename(temp, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw cannotWrite(target, error);
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such folder',
  EEXIST: 'a file is in the way',
  ENOTDIR: 'a file is in the way',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/** Why a write failed, in words ("no space left on the device"), from its errno code. */
export function describeWriteFailure(code: string): string {
  return REASONS[code] ?? code;
}

function cannotWrite(target: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined) return error as Error; // not a file-system failure: let it through
  return new UsageError(`cannot write ${quote(target)}: ${describeWriteFailure(code)}; choose another output path`);
}
