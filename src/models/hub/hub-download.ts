/**
 * Model snapshots from the Hugging Face Hub into the shared cache. The commit sha is resolved
 * first (so a branch moving mid-download cannot mix commits), then only the needed files are
 * fetched: config, tokenizer files, and safetensors weights (single file or index + shards).
 * Each blob is written to `<blob>.incomplete`, checked (size, and sha256 for LFS files), then
 * renamed into place, so the cache never holds a corrupt file; an interrupted download resumes.
 */
import { downloadFile, modelInfo, pathsInfo } from '@huggingface/hub';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { InterruptedError, ModelError, NetworkError, quote } from '../../errors.js';
import type { Reporter } from '../../reporting/reporter.js';
import { TOKENIZER_FILES } from '../tokenizer-files.js';
import { SINGLE_WEIGHTS_FILE, WEIGHTS_INDEX_FILE, listWeightFiles, refusePickledWeights, shardNamesFromIndex } from '../weight-index.js';
import { blobPath, COMMIT_SHA, exists, linkSnapshotFile, readCachedRef, snapshotDir, writeRef } from './hub-cache.js';
import { explainHubError, isTransient, type HubContext } from './hub-errors.js';
import type { HubSettings } from './hub-settings.js';
import { createRetryingFetch } from './retrying-fetch.js';
import { createTimedFetch } from './timed-fetch.js';

export interface SnapshotRequest {
  repo: string;
  revision: string;
  /** Ask the Hub for the revision's current commit even if the cache has one. */
  refresh: boolean;
  /**
   * Called with the snapshot folder once config.json and the tokenizer files are in it, before
   * any weights are downloaded: a command checks its cheap inputs against them there, so a bad
   * prompt or flag costs a few kB of download, not the model. Not called for a cached snapshot.
   */
  checkBeforeWeights?: (dir: string) => Promise<void>;
}

export interface Snapshot {
  dir: string;
  sha: string;
  /** True when nothing had to be downloaded. */
  fromCache: boolean;
}

export interface DownloadOptions {
  settings: HubSettings;
  reporter: Reporter;
  /** Attempts per file when a transfer breaks (each resumes where the last stopped). */
  attempts?: number;
  /** Stops every request and transfer at once (SIGINT/SIGTERM): an InterruptedError. */
  signal?: AbortSignal;
}

/** A snapshot folder is usable when it has config.json and every weight file. */
async function isComplete(dir: string): Promise<boolean> {
  if (!(await exists(`${dir}/config.json`))) return false;
  try {
    const files = await listWeightFiles(dir);
    for (const file of files) if (!(await exists(file))) return false;
    return true;
  } catch {
    return false;
  }
}

export async function fetchSnapshot(request: SnapshotRequest, options: DownloadOptions): Promise<Snapshot> {
  try {
    return await fetchSnapshotOnce(request, options);
  } catch (error) {
    if (options.signal?.aborted) {
      throw new InterruptedError(
        `${String(options.signal.reason ?? 'interrupted')} while downloading ${quote(`${request.repo}@${request.revision}`)}; finished files stay in the cache and a partial one resumes: run the same command again`,
      );
    }
    throw error;
  }
}

async function fetchSnapshotOnce(request: SnapshotRequest, options: DownloadOptions): Promise<Snapshot> {
  const { settings } = options;
  const { repo, revision } = request;
  const cachedSha = await readCachedRef(settings.cacheDir, repo, revision);
  if (cachedSha !== undefined && (!request.refresh || settings.offline)) {
    const dir = snapshotDir(settings.cacheDir, repo, cachedSha);
    if (await isComplete(dir)) return { dir, sha: cachedSha, fromCache: true };
  }
  if (settings.offline) {
    throw new NetworkError(
      `HF_HUB_OFFLINE is set and ${quote(`${repo}@${revision}`)} is not complete in the cache ${quote(settings.cacheDir)}; ` +
        'run once without HF_HUB_OFFLINE to download it (or set HF_HUB_CACHE to the cache that has it)',
    );
  }
  const context: HubContext = { repo, revision, endpoint: settings.endpoint };
  const credentials = hubCredentials(settings, options.signal);

  let sha: string;
  let files: string[];
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ['sha', 'filePaths'], ...credentials });
    sha = String(info.sha);
    files = info.filePaths ?? [];
  } catch (error) {
    throw explainHubError(error, context);
  }
  if (!COMMIT_SHA.test(sha)) throw new NetworkError(`${settings.endpoint} gave ${quote(sha)} as the commit of ${quote(`${repo}@${revision}`)}; expected a 40-digit sha`);

  const download = (file: string) => downloadToCache({ repo, sha, file, credentials, context: { ...context, revision: sha, file }, options });
  const chosen = chooseFiles(repo, files);
  const dir = snapshotDir(settings.cacheDir, repo, sha);
  const isWeights = (file: string) => file === SINGLE_WEIGHTS_FILE || file === WEIGHTS_INDEX_FILE;
  for (const file of chosen.filter((name) => !isWeights(name))) await download(file);
  await request.checkBeforeWeights?.(dir);
  for (const file of chosen.filter(isWeights)) await download(file);
  if (files.includes(WEIGHTS_INDEX_FILE)) {
    const indexPath = `${dir}/${WEIGHTS_INDEX_FILE}`;
    for (const shard of shardNamesFromIndex(await readFile(indexPath, 'utf8'), indexPath)) await download(shard);
  }
  await writeRef(settings.cacheDir, repo, revision, sha);
  return { dir, sha, fromCache: false };
}

/** What every Hub call is given: the endpoint, a fetch with time bounds and retries, the token. */
export function hubCredentials(settings: HubSettings, signal?: AbortSignal): FileDownload['credentials'] {
  const timedFetch = createTimedFetch({
    headerTimeoutMs: settings.headerTimeoutMs,
    stallTimeoutMs: settings.stallTimeoutMs,
    stallBytes: settings.stallBytes,
    ...(signal ? { signal } : {}),
  });
  const hubFetch = createRetryingFetch({ retries: 3, baseDelayMs: settings.retryDelayMs }, timedFetch);
  return { hubUrl: settings.endpoint, fetch: hubFetch, ...(settings.token ? { accessToken: settings.token } : {}) };
}

/** config + tokenizer files + the safetensors weights (the index's shards come later). */
export function chooseFiles(repo: string, files: readonly string[]): string[] {
  if (!files.includes('config.json')) throw new ModelError(`${quote(repo)} has no config.json; is it a transformers model repo?`);
  const chosen = ['config.json', ...TOKENIZER_FILES.filter((file) => files.includes(file))];
  if (files.includes(WEIGHTS_INDEX_FILE)) return [...chosen, WEIGHTS_INDEX_FILE];
  if (files.includes(SINGLE_WEIGHTS_FILE)) return [...chosen, SINGLE_WEIGHTS_FILE];
  refusePickledWeights(repo, files, 'use a revision that has model.safetensors');
  throw new ModelError(`${quote(repo)} has no model.safetensors or ${WEIGHTS_INDEX_FILE}`);
}

export interface FileDownload {
  repo: string;
  sha: string;
  file: string;
  credentials: { hubUrl: string; fetch: typeof fetch; accessToken?: string };
  context: HubContext;
  options: DownloadOptions;
}

/** One file of a commit into the cache (blob checked, then linked); `repo` may be `datasets/owner/name`. */
export async function downloadToCache(job: FileDownload): Promise<void> {
  const { repo, sha, file, credentials, context, options } = job;
  const { cacheDir } = options.settings;
  if (await exists(`${snapshotDir(cacheDir, repo, sha)}/${file}`)) return;
  let expected: { etag: string; size: number; sha256?: string };
  try {
    const [info] = await pathsInfo({ repo, paths: [file], revision: sha, ...credentials });
    if (!info) throw new ModelError(`${quote(`${repo}/${file}`)} not found at revision ${sha}`);
    expected = info.lfs ? { etag: info.lfs.oid, size: info.lfs.size, sha256: info.lfs.oid } : { etag: info.oid ?? '', size: info.size };
  } catch (error) {
    throw explainHubError(error, context);
  }
  if (!/^[0-9a-f]{40,64}$/.test(expected.etag)) throw new NetworkError(`${context.endpoint} gave no usable id for ${quote(`${repo}/${file}`)}`);
  const blob = blobPath(cacheDir, repo, expected.etag);
  if (!(await hasSize(blob, expected.size))) {
    const attempts = options.attempts ?? 4;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await downloadBlob(job, blob, expected);
        break;
      } catch (error) {
        if (attempt >= attempts || !isTransient(error) || options.signal?.aborted) throw explainHubError(error, context);
        await new Promise((resolve) => setTimeout(resolve, options.settings.retryDelayMs * 2 ** (attempt - 1)));
      }
    }
  }
  await linkSnapshotFile(cacheDir, repo, sha, file, expected.etag);
}

async function hasSize(path: string, size: number): Promise<boolean> {
  return stat(path).then((s) => s.size === size, () => false);
}

/** Stream the file into `<blob>.incomplete` (resuming a partial one), verify, then rename. */
async function downloadBlob(job: FileDownload, blob: string, expected: { size: number; sha256?: string }): Promise<void> {
  const incomplete = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  let offset = await stat(incomplete).then((s) => s.size, () => 0);
  if (offset > expected.size) {
    await rm(incomplete, { force: true });
    offset = 0;
  }
  const hash = createHash('sha256');
  if (offset > 0) for await (const chunk of createReadStream(incomplete)) hash.update(chunk as Buffer);

  const remote = await downloadFile({ repo: job.repo, path: job.file, revision: job.sha, ...job.credentials, xet: true });
  if (remote === null) throw new ModelError(`${quote(`${job.repo}/${job.file}`)} not found at revision ${job.sha}`);
  if (remote.size !== expected.size) {
    throw new NetworkError(`${quote(`${job.repo}/${job.file}`)}: the Hub lists ${expected.size} bytes but serves ${remote.size}`);
  }
  const progress = job.options.reporter.progress(`${job.repo}/${job.file}`, expected.size, 'bytes');
  progress.tick(offset);
  const body = Readable.fromWeb((offset > 0 ? remote.slice(offset) : remote).stream() as WebReadableStream);
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    progress.tick(chunk.length);
  });
  try {
    await pipeline(body, createWriteStream(incomplete, { flags: offset > 0 ? 'a' : 'w' }));
  } finally {
    progress.done();
  }
  const size = (await stat(incomplete)).size;
  if (size !== expected.size || (expected.sha256 && hash.digest('hex') !== expected.sha256)) {
    await rm(incomplete, { force: true });
    const what = size !== expected.size ? `${size} bytes instead of ${expected.size}` : 'a sha256 that differs from the Hub';
    throw new NetworkError(`download of ${quote(`${job.repo}/${job.file}`)} has ${what}; the partial file was removed, run again to retry`);
  }
  await rename(incomplete, blob);
}
