/**
 * Read a file only if it is a regular file. A FIFO given as config.json, tokenizer.json or a
 * prompt file would make a plain readFile wait forever for a writer; opening it non-blocking
 * and checking what it is first makes that a prompt refusal. Callers turn the error's `code`
 * into their own one-line message (see describeReadFailure).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
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

export async function readRegularFile(path: string): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new NotRegularFileError('EISDIR', 'a folder');
    if (!info.isFile()) throw new NotRegularFileError('ENOTREG', describeSpecial(info));
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Why a read failed, in words: "no such file", "it is a folder", "it is a FIFO (named pipe), not a regular file". */
export function describeReadFailure(error: unknown): string {
  if (error instanceof NotRegularFileError) return error.code === 'EISDIR' ? 'it is a folder' : `it is ${error.message}`;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  return code ?? (error instanceof Error ? error.message : String(error));
}
