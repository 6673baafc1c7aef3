/**
 * Open or read a file only if it is a regular file: the one way resid-norms opens a file for
 * reading. A FIFO given as config.json, tokenizer.json, a prompt file, a checkpoint or a table
 * would make a plain read wait forever for a writer; opening it non-blocking and checking what
 * it is first makes that a prompt refusal. Reads of whole files take a size bound. Callers turn
 * the error's `code` into their own one-line message (see describeReadFailure).
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { describeSpecial } from './output-guard.js';

/** The error thrown for something that is not a regular file; `code` is EISDIR or ENOTREG. */
export class NotRegularFileError extends Error {
  constructor(
    readonly code: 'EISDIR' | 'ENOTREG',
    readonly kind: string,
  ) {
    super(`${kind}, not a regular file`);
  }
}

/** A whole-file read of a file larger than its bound (before anything is read). */
export class FileTooLargeError extends Error {
  readonly code = 'EFBIG';
  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`it is ${formatBytes(size)}, more than the ${formatBytes(maxBytes)} read at once`);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

export interface OpenOptions {
  /** Refuse a symbolic link instead of following it (files resid-norms itself wrote, e.g. checkpoints). */
  noFollow?: boolean;
  /** Open for reading and writing (a checkpoint resumed) instead of reading only. */
  write?: boolean;
}

function openFlags(options: OpenOptions): number {
  return (options.write ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
}

function checkRegular(info: {
  isDirectory(): boolean;
  isFile(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): void {
  if (info.isDirectory()) throw new NotRegularFileError('EISDIR', 'a folder');
  if (!info.isFile()) throw new NotRegularFileError('ENOTREG', describeSpecial(info));
}

/** A handle on `path` once it is known to be a regular file (never blocks on a FIFO). */
export async function openRegularFile(path: string, options: OpenOptions = {}): Promise<FileHandle> {
  const handle = await open(path, openFlags(options));
  try {
    checkRegular(await handle.stat());
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The same, synchronously: a file descriptor. */
export function openRegularFileSync(path: string, options: OpenOptions = {}): number {
  const fd = openSync(path, openFlags(options));
  try {
    checkRegular(fstatSync(fd));
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The bytes of a regular file; with `maxBytes`, a larger file is refused before it is read. */
export async function readRegularFile(path: string, maxBytes?: number): Promise<Buffer> {
  const handle = await openRegularFile(path);
  try {
    if (maxBytes !== undefined) {
      const { size } = await handle.stat();
      if (size > maxBytes) throw new FileTooLargeError(size, maxBytes);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Why a read failed, in words: "no such file", "it is a folder", "it is a FIFO (named pipe), not a regular file". */
export function describeReadFailure(error: unknown): string {
  if (error instanceof NotRegularFileError) return error.code === 'EISDIR' ? 'it is a folder' : `it is ${error.message}`;
  if (error instanceof FileTooLargeError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ELOOP') return 'it is a symbolic link, which this file may not be';
  if (code === 'ENOTDIR') return 'a parent is not a folder';
  return code ?? (error instanceof Error ? error.message : String(error));
}
