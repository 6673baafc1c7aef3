/**
 * Lines of a file with a bound on each: node's readline buffers a line until its newline comes,
 * so a file of gigabytes without one (zero-filled by a crash, or hostile) would be held whole.
 * Here a line longer than `maxLineBytes` ends the reading: it is reported as `overlong` and
 * nothing after it is read.
 */
import type { FileHandle } from 'node:fs/promises';

export interface BoundedLine {
  /** The line without its newline (UTF-8 decoded; '' for an overlong line). */
  text: string;
  /** Bytes of the line including its newline, if it has one. */
  bytes: number;
  /** Whether the line ends with a newline (the last line of a torn write does not). */
  complete: boolean;
  /** The line is longer than the bound; reading stops here. */
  overlong: boolean;
}

const CHUNK_BYTES = 1 << 16;

export async function* readBoundedLines(handle: FileHandle, maxLineBytes: number): AsyncGenerator<BoundedLine> {
  const chunk = Buffer.alloc(CHUNK_BYTES);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, start);
      if (end < 0 || end >= bytesRead) break;
      const piece = chunk.subarray(start, end);
      if (pendingBytes + piece.length > maxLineBytes) {
        yield { text: '', bytes: pendingBytes + piece.length + 1, complete: true, overlong: true };
        return;
      }
      const line = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      yield { text: line.toString('utf8'), bytes: line.length + 1, complete: true, overlong: false };
      pending = [];
      pendingBytes = 0;
      start = end + 1;
    }
    const rest = chunk.subarray(start, bytesRead);
    if (pendingBytes + rest.length > maxLineBytes) {
      yield { text: '', bytes: pendingBytes + rest.length, complete: false, overlong: true };
      return;
    }
    pending.push(Buffer.from(rest)); // copied: the chunk buffer is reused
    pendingBytes += rest.length;
  }
  if (pendingBytes > 0) {
    const line = Buffer.concat(pending);
    yield { text: line.toString('utf8'), bytes: line.length, complete: false, overlong: false };
  }
}
