/**
 * One file's bytes into the cache: streamed into `<blob>.incomplete`, checked, renamed into
 * place, so the cache never holds a wrong file. What the listing promised is the bound and the
 * check: no more bytes are taken than its size; the result must have that size and its hash
 * (sha256 for LFS and Xet files, the git blob sha1 for small files). A partial file resumes
 * with a Range request; one that already has the full size is checked and finished without a
 * request (a range past the end gets 416 from a real CDN, which no retry cures). A server that
 * ignores the range (200) or refuses it (416) is answered by starting over from byte 0, once.
 *
 * Processes that share one cache (the tasks of a job array, on one node or many) may fetch the
 * same blob at once (the config and tokenizer of every checkpoint of a model are one blob). Each
 * writes a partial file of its own, never one another writes: it claims `<blob>.incomplete` (what
 * an interrupted run leaves for the next to resume) by renaming it to its own name, and gives it
 * back when it stops before the end. The first to finish renames its checked file into place; a
 * later one finds the blob there and drops its copy.
 *
 * Xet-stored files come through the same path: `resolve` redirects to the cas-bridge, which
 * serves the whole file with Range support; the Xet reconstruction protocol is not used (see
 * docs/hub.md).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { NetworkError, quote } from '../../errors.js';
import { describeSpecial } from '../../io/output-guard.js';
import { isProcessAlive } from '../../io/process-alive.js';
import type { Progress } from '../../messages/reporter.js';
import type { RemoteFile } from './hub-api.js';
import { BodyLimitError, readLimited } from './bounded-body.js';
import type { HubClient } from './hub-client.js';

const WRITE_BYTES = 4 * 1024 * 1024;

export interface BlobDownload {
  client: HubClient;
  url: string;
  blob: string;
  expected: RemoteFile;
  /** "owner/name/file", for messages. */
  label: string;
  progress: () => Progress;
}

/** The hash a file is checked against, fed with what is already on disk. */
function newHash(expected: RemoteFile): { hash: Hash; kind: string; want: string } | undefined {
  if (expected.sha256 !== undefined) return { hash: createHash('sha256'), kind: 'sha256', want: expected.sha256 };
  if (expected.gitOid === undefined) return undefined;
  const hash = createHash('sha1').update(`blob ${expected.size}\0`); // a git blob's id: sha1 of its header and content
  return { hash, kind: 'git sha1', want: expected.gitOid };
}

/**
 * The size of the partial file, or 0 when there is none. A symlink there (which would make the
 * download write where it points) is removed; anything else but a regular file is refused.
 */
async function partialSize(incomplete: string): Promise<number> {
  const info = await lstat(incomplete).catch(() => undefined);
  if (info === undefined) return 0;
  if (info.isSymbolicLink()) {
    await rm(incomplete);
    return 0;
  }
  if (!info.isFile())
    throw new NetworkError(
      `${quote(incomplete)} is ${info.isDirectory() ? 'a folder' : describeSpecial(info)}, not a partial download; remove it and run again`,
    );
  return info.size;
}

async function hashFile(path: string, check: NonNullable<ReturnType<typeof newHash>>): Promise<void> {
  for await (const chunk of createReadStream(path)) check.hash.update(chunk as Buffer);
}

export async function downloadBlob(job: BlobDownload): Promise<void> {
  const shared = `${job.blob}.incomplete`;
  await mkdir(dirname(job.blob), { recursive: true });
  await partialSize(shared); // refuses what is not a partial download there
  const incomplete = await claimPartial(job.blob);
  try {
    if (await isComplete(job)) {
      await rm(incomplete, { force: true }); // another process finished it meanwhile
      return;
    }
    let offset = await partialSize(incomplete);
    if (offset > job.expected.size) {
      await rm(incomplete, { force: true });
      offset = 0;
    }
    // Resumed bytes that turn out wrong are dropped and the file fetched whole, once.
    for (let fromScratch = offset === 0; ; fromScratch = true) {
      const problem = await fetchInto(job, incomplete, offset).catch(async (error: unknown) => {
        if (error instanceof BodyLimitError) await rm(incomplete, { force: true }); // a server that sent too much is not trusted for the rest
        throw error;
      });
      if (problem === undefined) {
        await rename(incomplete, job.blob); // a copy another process put there meanwhile has the same checked bytes
        return;
      }
      await rm(incomplete, { force: true });
      if (fromScratch) throw new NetworkError(`download of ${quote(job.label)} has ${problem}; the partial file was removed, run again to retry`);
      offset = 0;
    }
  } catch (error) {
    await giveBack(incomplete, shared);
    throw error;
  }
}

async function isComplete(job: BlobDownload): Promise<boolean> {
  const info = await lstat(job.blob).catch(() => undefined);
  return info?.isFile() === true && info.size === job.expected.size;
}

/** This process's own partial file of `blob`: `<blob>.incomplete.<host>.<pid>.<random>`. */
function ownPartial(blob: string): string {
  return `${blob}.incomplete.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`;
}

/**
 * A partial file for this process alone, holding what an earlier run left: the shared
 * `<blob>.incomplete` if no other process claimed it first, else the largest partial that a
 * process of this host left when it was killed (others of this host's dead are removed; those of
 * other hosts cannot be checked and are left alone).
 */
async function claimPartial(blob: string): Promise<string> {
  const mine = ownPartial(blob);
  try {
    await rename(`${blob}.incomplete`, mine);
    return mine;
  } catch {
    // none to resume, or another process has it
  }
  const prefix = `${basename(blob)}.incomplete.${hostname()}.`;
  const orphans: Array<{ path: string; size: number }> = [];
  for (const name of await readdir(dirname(blob)).catch(() => [] as string[])) {
    const pid = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{8}$/.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid === undefined || isProcessAlive(Number(pid))) continue;
    const info = await lstat(join(dirname(blob), name)).catch(() => undefined);
    if (info?.isFile()) orphans.push({ path: join(dirname(blob), name), size: info.size });
  }
  orphans.sort((a, b) => b.size - a.size);
  for (const [index, orphan] of orphans.entries()) {
    if (index > 0) await rm(orphan.path, { force: true });
    else await rename(orphan.path, mine).catch(() => undefined);
  }
  return mine;
}

/** Leave what was fetched as `<blob>.incomplete` for the next run, unless another partial is there. */
async function giveBack(mine: string, shared: string): Promise<void> {
  try {
    await link(mine, shared);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A filesystem without hard links: a rename, unless another partial is there already.
    if ((code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') && (await lstat(shared).catch(() => undefined)) === undefined)
      await rename(mine, shared).catch(() => undefined);
  } finally {
    await rm(mine, { force: true });
  }
}

/** Bring `incomplete` from `offset` to the whole file; what is wrong with the result, or undefined when it checks. */
async function fetchInto(job: BlobDownload, incomplete: string, offset: number): Promise<string | undefined> {
  const { expected } = job;
  let check = newHash(expected);
  if (offset > 0 && check !== undefined) await hashFile(incomplete, check);
  let start = offset;
  if (offset < expected.size) {
    let response = await job.client.request(job.url, { fromByte: offset });
    if (response.status === 416) {
      // The server refuses the range: the whole file, from byte 0.
      await response.body?.cancel();
      response = await job.client.request(job.url);
      if (response.status === 416) throw new NetworkError(`${job.client.endpoint} answered 416 (range not satisfiable) for the whole of ${quote(job.label)}`);
    }
    if (response.status !== 206) {
      // A whole answer (the range refused or ignored): its bytes replace the partial ones.
      check = newHash(expected);
      start = 0;
    }
    if (response.status === 206) start = contentRangeStart(response, expected.size, job.label, start);
    await writeBody(job, response, incomplete, start, check);
  }
  const size = (await stat(incomplete)).size;
  if (size !== expected.size) return `${size} bytes instead of ${expected.size}`;
  if (check !== undefined && check.hash.digest('hex') !== check.want) return `a ${check.kind} that differs from the Hub's`;
  return undefined;
}

/** Where a 206 answer's bytes start; it must be where we asked and of the file we expect. */
function contentRangeStart(response: Response, size: number, label: string, asked: number): number {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  if (match === null || Number(match[1]) !== asked || (match[3] !== '*' && Number(match[3]) !== size)) {
    throw new NetworkError(
      `${quote(label)}: the server answered the range request from byte ${asked} with ${quote(response.headers.get('content-range') ?? 'no Content-Range')} (the listing says ${size} bytes)`,
    );
  }
  return asked;
}

async function writeBody(job: BlobDownload, response: Response, incomplete: string, start: number, check: ReturnType<typeof newHash>): Promise<void> {
  // O_NOFOLLOW: a symlink planted at the partial's name is not written through.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (start > 0 ? constants.O_APPEND : constants.O_TRUNC);
  const handle = await open(incomplete, flags, 0o644);
  const progress = job.progress();
  progress.tick(start);
  // Chunks are written in runs of WRITE_BYTES: one write per 64 kB chunk costs a third of the speed.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    await handle.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  try {
    // Never more than the listing promised: an endless or inflating body ends here.
    for await (const chunk of readLimited(response, job.expected.size - start, `the server sent more than the ${job.expected.size} bytes its listing gives`)) {
      check?.hash.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      if (pendingBytes >= WRITE_BYTES) await flush();
      progress.tick(chunk.byteLength);
    }
  } finally {
    // What arrived before a break stays on disk for the next attempt to resume from.
    await flush().finally(() => handle.close());
    progress.done();
  }
}
