/**
 * Atomic file writes: write a temp file beside the target, fsync, then rename over it, so a
 * crash or a kill never leaves a partial or corrupt output file. The temp file is removed on
 * any failure. Hand-written rather than `write-file-atomic` because we also stream large
 * results (one chunk at a time) through the same path.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type ChunkSource = string | Uint8Array | Iterable<string> | AsyncIterable<string>;

function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Write `content` to `target` atomically, creating parent folders as needed. */
export async function writeFileAtomic(target: string, content: ChunkSource): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  const handle = await open(temp, 'wx');
  try {
    if (typeof content === 'string') {
      await handle.write(content);
    } else if (content instanceof Uint8Array) {
      await handle.write(content);
    } else {
      for await (const chunk of content) await handle.write(chunk);
    }
    await handle.sync();
    await handle.close();
    await rename(temp, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
