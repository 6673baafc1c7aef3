/**
 * Identity of a local model folder for resumable runs: Hub models have a commit sha, local
 * folders get a hash of config.json and the weight files' sizes and modification times
 * (cheap, and changes whenever the weights are rewritten).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

export async function fingerprintFolder(dir: string, weightFiles: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(await readFile(join(dir, 'config.json')));
  for (const file of weightFiles) {
    const info = await stat(file);
    hash.update(`${basename(file)}:${info.size}:${info.mtimeMs}\n`);
  }
  return `local:${hash.digest('hex').slice(0, 16)}`;
}
