/**
 * Whether a text file (a CSV prompt table) is UTF-8, checked by streaming it once, in pieces of
 * 1 MiB, before DuckDB reads it: a Latin-1 or UTF-16 file is refused naming the file, the line
 * and the byte (DuckDB would say "CSV Error on Line: 2" and nothing about the encoding).
 */
import type { FileHandle } from 'node:fs/promises';
import { InputError, quote } from '../errors.js';
import { describeReadFailure, openRegularFile } from '../io/read-regular-file.js';

const PIECE_BYTES = 1 << 20;

/** Offset of the first byte in `bytes` that does not start a valid UTF-8 sequence, or -1; `end` says whether a sequence cut at the end is an error. */
export function firstInvalidUtf8(bytes: Uint8Array, end: boolean): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    if (i + length > bytes.length) return end ? i : -1; // cut by the piece: the caller carries it over
    for (let k = 1; k < length; k += 1) if ((bytes[i + k]! & 0xc0) !== 0x80) return i; // the sequence it starts is broken: name its first byte
    const second = bytes[i + 1]!;
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f) || (b === 0xf0 && second < 0x90) || (b === 0xf4 && second > 0x8f)) return i;
    i += length;
  }
  return -1;
}

function utf16(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'UTF-16 little-endian (it starts with that byte-order mark)';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'UTF-16 big-endian (it starts with that byte-order mark)';
  return undefined;
}

/** Refuse (InputError) a file that is not UTF-8, naming its first bad line and byte. */
export async function checkUtf8File(path: string, what: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await openRegularFile(path);
  } catch (error) {
    throw new InputError(`cannot read ${what} ${quote(path)} (${describeReadFailure(error)}); give a .parquet or .csv file`);
  }
  try {
    const piece = Buffer.alloc(PIECE_BYTES + 3);
    let carried = 0; // bytes of a sequence cut at the end of the last piece, moved to the front
    let offset = 0; // file offset of piece[0]
    let line = 1;
    for (;;) {
      const { bytesRead } = await handle.read(piece, carried, PIECE_BYTES, offset + carried);
      const length = carried + bytesRead;
      const bytes = piece.subarray(0, length);
      if (offset === 0) {
        const wide = utf16(bytes);
        if (wide !== undefined) throw new InputError(`${what} ${quote(path)} is not UTF-8: it is ${wide}; save it as UTF-8`);
      }
      const bad = firstInvalidUtf8(bytes, bytesRead === 0);
      if (bad >= 0) {
        for (let i = 0; i < bad; i += 1) if (bytes[i] === 0x0a) line += 1;
        const at = offset + bad;
        throw new InputError(
          `${what} ${quote(path)} is not UTF-8: line ${line}, byte ${at + 1} of the file is 0x${bytes[bad]!.toString(16).toUpperCase().padStart(2, '0')} (Latin-1 or another 8-bit encoding?); save it as UTF-8`,
        );
      }
      if (bytesRead === 0) return;
      // Keep an incomplete sequence at the end for the next piece.
      let keep = 0;
      while (keep < 3 && keep < length && (bytes[length - 1 - keep]! & 0xc0) === 0x80) keep += 1;
      if (keep < length && bytes[length - 1 - keep]! >= 0xc0) keep += 1;
      else keep = 0;
      for (let i = 0; i < length - keep; i += 1) if (bytes[i] === 0x0a) line += 1;
      piece.copyWithin(0, length - keep, length);
      offset += length - keep;
      carried = keep;
    }
  } finally {
    await handle.close();
  }
}
