/**
 * The one way resid-norms writes a file: into a temp file beside the target, created
 * exclusively (O_CREAT | O_EXCL | O_NOFOLLOW: never an existing file, never through a symlink
 * planted at its name), synced, then renamed over the target (which replaces a symlink there
 * instead of writing through it). A crash or a kill never leaves a partial or corrupt output:
 * the temp file is removed on any failure, and the next write to the same target removes temp
 * files whose writing process is gone (kill -9). Every failure is one line naming the file and
 * the reason in words (disk full, a folder in the way, a missing parent folder…).
 * Hand-written rather than `write-file-atomic` for the exclusive, no-follow temp files, the
 * clean-up and the messages.
 */
import { closeSync, constants, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UsageError, quote } from '../errors.js';
import { isProcessAlive } from './process-alive.js';

/** How every file resid-norms creates is opened: a new file only, never reached through a symlink (add the access mode). */
export const CREATE_NEW = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** The same, for writing only. */
export const CREATE_EXCLUSIVE = constants.O_WRONLY | CREATE_NEW;

/** Kinds of temp file: `tmp` for whole files written at once, `partial` for tables streamed to disk. */
export type TempKind = 'tmp' | 'partial';

/**
 * This machine in a temp file's name: on a shared file system (a cluster's output folder) a pid
 * says nothing about a process of another node, so only this host's temp files are ever judged stale.
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** `.<name>.<host>-<pid>.<random>.<kind>` beside the target: hidden, and unique to this host, process and write. */
export function tempPathFor(target: string, kind: TempKind = 'tmp'): string {
  return join(dirname(target), `.${basename(target)}.${HOST_TAG}-${process.pid}.${randomBytes(4).toString('hex')}.${kind}`);
}

/** Temp files of `target` (among `names` of its folder) written on this host by a process that is gone. */
function staleTemps(target: string, names: readonly string[]): string[] {
  const prefix = `.${basename(target)}.`;
  return names.filter((name) => {
    const match = name.startsWith(prefix) ? /^([0-9a-f]{8})-(\d+)\.[0-9a-f]{8}\.(tmp|partial)$/.exec(name.slice(prefix.length)) : null;
    return match !== null && match[1] === HOST_TAG && !isProcessAlive(Number(match[2]));
  });
}

async function removeStaleTemps(target: string): Promise<void> {
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  for (const name of staleTemps(target, names)) await rm(join(dirname(target), name), { force: true });
}

function removeStaleTempsSync(target: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const name of staleTemps(target, names)) rmSync(join(dirname(target), name), { force: true });
}

const REASONS: Record<string, string> = {
  ENOENT: 'its folder does not exist (a parent folder is missing, or was removed while writing)',
  EEXIST: 'a file is in the way',
  ENOTDIR: 'a parent is not a folder (a file is in the way)',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is too large for its file system',
  EIO: 'input/output error on the device',
  ELOOP: 'a symbolic link is in the way, and outputs are never written through links',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
};

/** Why a write failed, in words ("no space left on the device"), from its errno code. */
export function describeWriteFailure(code: string): string {
  return REASONS[code] ?? code;
}

/** A file that could not be written (exit 2): the path, the reason, and what to do or what was kept. */
export class WriteFailure extends UsageError {
  constructor(
    readonly path: string,
    readonly code: string,
    advice: string,
  ) {
    super(`cannot write ${quote(path)}: ${describeWriteFailure(code)}; ${advice}`);
  }

  /** The same failure with other advice (e.g. what a command kept). */
  withAdvice(advice: string): WriteFailure {
    return new WriteFailure(this.path, this.code, advice);
  }
}

/** A file-system failure as a WriteFailure naming `target`; anything else is passed through. */
export function writeFailure(target: string, error: unknown, advice = 'choose another output path'): Error {
  if (error instanceof WriteFailure) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return error as Error;
  return new WriteFailure(target, code, advice);
}

/**
 * Write `content` to `target` atomically, creating parent folders as needed. A target that
 * cannot be written is a WriteFailure naming it (the user chose the path).
 */
export async function writeFileAtomic(target: string, content: string | Uint8Array, advice?: string): Promise<void> {
  const temp = tempPathFor(target);
  let handle: FileHandle;
  try {
    await mkdir(dirname(target), { recursive: true });
    await removeStaleTemps(target);
    handle = await open(temp, CREATE_EXCLUSIVE, 0o644);
  } catch (error) {
    throw writeFailure(target, error, advice);
  }
  try {
    await handle.writeFile(content); // every byte, however many write calls it takes
    await handle.sync();
    await handle.close();
    await rename(temp, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw writeFailure(target, error, advice);
  }
}

/**
 * A file written in pieces, synchronously (tables streamed row group by row group): created
 * exclusively under a temp name, renamed to its target by `commit`, removed by `abort`.
 * Every failure is a WriteFailure naming the target.
 */
export class TempFile {
  private closed = false;

  private constructor(
    readonly target: string,
    readonly path: string,
    private readonly fd: number,
  ) {}

  static create(target: string, kind: TempKind = 'partial'): TempFile {
    const path = tempPathFor(target, kind);
    try {
      removeStaleTempsSync(target);
      return new TempFile(target, path, openSync(path, CREATE_EXCLUSIVE, 0o644));
    } catch (error) {
      throw writeFailure(target, error);
    }
  }

  /** Write all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): void {
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written, position + written);
    } catch (error) {
      throw writeFailure(this.target, error);
    }
  }

  /** Sync, close and rename onto the target. */
  commit(): void {
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.closed = true;
      renameSync(this.path, this.target);
    } catch (error) {
      throw writeFailure(this.target, error);
    }
  }

  /** Close and delete the temp file (after an error or an interruption); never throws. */
  abort(): void {
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        // already unusable: nothing more to release
      }
      this.closed = true;
    }
    rmSync(this.path, { force: true });
  }
}
