/**
 * Model snapshots from the Hugging Face Hub into the shared cache. The revision's listing comes
 * first, in one API call (src/models/hub/hub-api.ts): the commit sha (so a branch moving
 * mid-download cannot mix commits) and every file's size and hash. Then only the needed files
 * are fetched: config, tokenizer files, and the weights of one format (safetensors, else PyTorch
 * checkpoints; single file or index + shards). Each blob goes through src/models/hub/hub-blob.ts
 * (bounded by its listed size, checked against its sha256 or git sha1, renamed into place), so
 * the cache never holds a wrong file; an interrupted download resumes. refs/<revision> is
 * written once every file is in place.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { InterruptedError, ModelError, NetworkError, quote } from '../../errors.js';
import { readRegularFile } from '../../io/read-regular-file.js';
import type { Reporter } from '../../messages/reporter.js';
import { TOKENIZER_FILES } from '../tokenizer-files.js';
import { chooseWeights, isWeightEntry, isWeightIndex, noWeightsError } from '../weight-formats.js';
import { listWeightFiles, shardNamesFromIndex } from '../weight-index.js';
import { fetchListing, resolveUrl, type RemoteFile, type RevisionListing } from './hub-api.js';
import type { ListingCache } from './listing-cache.js';
import { downloadBlob } from './hub-blob.js';
import { blobPath, cacheEntryKind, linkSnapshotFile, readCachedRef, regularFileSize, snapshotDir, writeRef } from './hub-cache.js';
import { createHubClient, type HubClient } from './hub-client.js';
import { explainHubError, type HubContext } from './hub-errors.js';
import { isTransient } from './hub-http-error.js';
import type { HubSettings } from './hub-settings.js';
import { describeRateLimit } from './rate-limit.js';

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
  /** Listings the command made already (a sweep lists its members first): used instead of asking again. */
  listings?: ListingCache;
}

/**
 * Why a cached snapshot cannot be used as it is (a file missing, or not a regular file: a FIFO
 * would hang the reader), or undefined when config.json and every weight file are in place.
 */
export async function snapshotProblem(dir: string): Promise<string | undefined> {
  const kind = await cacheEntryKind(`${dir}/config.json`);
  if (kind !== 'file') return kind === 'missing' ? 'config.json is missing' : `config.json is ${kind}, not a regular file`;
  let files: string[];
  try {
    files = await listWeightFiles(dir);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  for (const file of files) {
    const fileKind = await cacheEntryKind(file);
    if (fileKind !== 'file') return `${file.slice(dir.length + 1)} is ${fileKind === 'missing' ? 'missing' : `${fileKind}, not a regular file`}`;
  }
  return undefined;
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

/** Waits for the rate limit shorter than this pass without a word. */
const NOTICED_WAIT_MS = 2000;

/** A client for the Hub that tells the user when it waits for the rate limit (a pause of seconds to minutes). */
export function hubClient(settings: HubSettings, reporter: Reporter, signal?: AbortSignal): HubClient {
  return createHubClient(settings, {
    ...(signal ? { signal } : {}),
    onRateLimit: (waitMs, info) =>
      waitMs >= NOTICED_WAIT_MS &&
      reporter.info(
        `the Hub rate-limits this client (HTTP 429${info ? `; ${describeRateLimit(info)}` : ''}): waiting ${(waitMs / 1000).toFixed(waitMs < 10_000 ? 1 : 0)} s`,
      ),
  });
}

/** The listing of a revision (one API call, or none when `listings` has it), with failures explained. */
export async function fetchModelListing(
  client: HubClient,
  repo: string,
  revision: string,
  listings?: ListingCache,
  tokenSource?: string,
): Promise<RevisionListing> {
  try {
    return await fetchListing(client, repo, revision, '', listings);
  } catch (error) {
    throw explainHubError(error, { repo, revision, endpoint: client.endpoint, ...(tokenSource ? { tokenSource } : {}) });
  }
}

async function fetchSnapshotOnce(request: SnapshotRequest, options: DownloadOptions): Promise<Snapshot> {
  const { settings } = options;
  const { repo, revision } = request;
  const cachedSha = await readCachedRef(settings.cacheDir, repo, revision);
  let problem = cachedSha === undefined ? 'no commit is cached for it' : undefined;
  if (cachedSha !== undefined && (!request.refresh || settings.offline)) {
    const dir = snapshotDir(settings.cacheDir, repo, cachedSha);
    problem = await snapshotProblem(dir);
    if (problem === undefined) return { dir, sha: cachedSha, fromCache: true };
  }
  if (settings.offline) {
    throw new NetworkError(
      `HF_HUB_OFFLINE is set and ${quote(`${repo}@${revision}`)} is not complete in the cache ${quote(settings.cacheDir)} (${problem}); ` +
        'run once without HF_HUB_OFFLINE to download it (or set HF_HUB_CACHE to the cache that has it)',
    );
  }
  const client = hubClient(settings, options.reporter, options.signal);
  const { sha, files } = await fetchModelListing(client, repo, revision, options.listings, settings.tokenSource);
  const context: HubContext = { repo, revision: sha, endpoint: settings.endpoint, ...(settings.tokenSource ? { tokenSource: settings.tokenSource } : {}) };
  const download = (file: string) => {
    const expected = files.get(file);
    if (expected === undefined)
      throw new ModelError(`${quote(`${repo}/${file}`)} not found at revision ${sha} (the weights index names it, the listing does not)`);
    return downloadToCache({ client, repo, sha, expected, context: { ...context, file }, options });
  };
  const names = [...files.keys()];
  const chosen = chooseFiles(repo, names);
  const dir = snapshotDir(settings.cacheDir, repo, sha);
  for (const file of chosen.filter((name) => !isWeightEntry(name))) await download(file);
  await request.checkBeforeWeights?.(dir);
  for (const file of chosen.filter(isWeightEntry)) await download(file);
  const index = chosen.find(isWeightIndex);
  if (index !== undefined) {
    const indexPath = `${dir}/${index}`;
    for (const shard of shardNamesFromIndex((await readRegularFile(indexPath)).toString('utf8'), indexPath)) await download(shard);
  }
  await writeRef(settings.cacheDir, repo, revision, sha);
  return { dir, sha, fromCache: false };
}

/** config + tokenizer files + the weights of the format src/models/weight-formats.ts chooses (an index's shards come later). */
export function chooseFiles(repo: string, files: readonly string[]): string[] {
  if (!files.includes('config.json')) throw new ModelError(`${quote(repo)} has no config.json; is it a transformers model repo?`);
  const chosen = ['config.json', ...TOKENIZER_FILES.filter((file) => files.includes(file))];
  const weights = chooseWeights(files);
  if (weights === undefined) throw noWeightsError(repo, files);
  return [...chosen, weights.entry];
}

export interface FileDownload {
  client: HubClient;
  /** owner/name, or datasets/owner/name. */
  repo: string;
  sha: string;
  /** The file as the listing describes it: its path, size and hash. */
  expected: RemoteFile;
  context: HubContext;
  options: DownloadOptions;
}

/** One file of a commit into the cache (blob checked, then linked), retried when the transfer breaks. */
export async function downloadToCache(job: FileDownload): Promise<void> {
  const { client, repo, sha, expected, context, options } = job;
  const { cacheDir } = options.settings;
  const file = expected.path;
  const etag = expected.sha256 ?? expected.gitOid;
  if (etag === undefined)
    throw new NetworkError(`${context.endpoint} gave no hash for ${quote(`${repo}/${file}`)}; it cannot be checked, so it is not downloaded`);
  const blob = blobPath(cacheDir, repo, etag);
  if ((await regularFileSize(blob)) !== expected.size) {
    const attempts = options.attempts ?? 4;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await downloadBlob({
          client,
          url: resolveUrl(client.endpoint, repo, sha, file),
          blob,
          expected,
          label: `${repo}/${file}`,
          progress: () => options.reporter.progress(`${repo}/${file}`, expected.size, 'bytes'),
        });
        break;
      } catch (error) {
        if (attempt >= attempts || !isTransient(error) || options.signal?.aborted) throw explainHubError(error, context);
        await delay(options.settings.retryDelayMs * 2 ** (attempt - 1), undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined); // a stop ends the wait; the next try sees it
      }
    }
  }
  await linkSnapshotFile(cacheDir, repo, sha, file, etag);
}
