/**
 * Dataset repos from the Hugging Face Hub into the shared cache, in Python's layout
 * (`datasets--{owner}--{name}/{refs,blobs,snapshots}`), through the same client, bounds,
 * retries and checks as models (src/models/hub/hub-download.ts). The commit is resolved first;
 * then the repo's Parquet files (all of them, or those under a path or matching a glob) are
 * listed (paged, bounded) and fetched; refs/<revision> is written once every file is in place.
 * When the Hub cannot be reached, a snapshot of the revision already in the cache is used, with
 * a warning (a `sweep --member` task after `sweep --prepare` works with the Hub down).
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError, InterruptedError, NetworkError, quote, type ResidNormsError } from '../../errors.js';
import { fetchListing, type RemoteFile } from './hub-api.js';
import { cacheEntryKind, DATASET_PREFIX, readCachedRef, snapshotDir, writeRef } from './hub-cache.js';
import { downloadToCache, hubClient, type DownloadOptions } from './hub-download.js';
import { explainHubError, type HubContext } from './hub-errors.js';
import { HubHttpError, isUnreachable } from './hub-http-error.js';

export interface DatasetRequest {
  /** owner/name */
  repo: string;
  revision: string;
  /** A file, a folder, or a glob (`*` within a name, `**` across folders) inside the repo; all Parquet files when absent. */
  path?: string;
}

export interface DatasetFiles {
  sha: string;
  /** The snapshot folder; `files` are relative to it. */
  dir: string;
  /** Parquet files in path order. */
  files: string[];
  fromCache: boolean;
}

/** Most files one dataset may contribute (a bound on requests and open files). */
export const MAX_DATASET_FILES = 10_000;

/** Does a repo path fall under the user's path (file, folder or glob)? */
export function matchesDatasetPath(file: string, filter: string | undefined): boolean {
  if (filter === undefined || filter === '') return true;
  const trimmed = filter.replace(/\/+$/, '');
  if (!trimmed.includes('*')) return file === trimmed || file.startsWith(`${trimmed}/`);
  const pattern = trimmed
    .split(/(\*\*\/|\*\*|\*)/)
    .map((part) => (part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`).test(file);
}

/** The folder whose tree holds every match of the user's path: the parent of its first glob, or of the path itself. */
export function listedFolder(filter: string | undefined): string {
  const literal = (filter ?? '').replace(/\/+$/, '').split('*')[0]!;
  return literal.includes('/') ? literal.slice(0, literal.lastIndexOf('/')) : '';
}

const isParquet = (file: string) => file.toLowerCase().endsWith('.parquet');

export async function fetchDatasetFiles(request: DatasetRequest, options: DownloadOptions): Promise<DatasetFiles> {
  const label = `${request.repo}@${request.revision}`;
  try {
    return await fetchDatasetOnce(request, options, label);
  } catch (error) {
    if (options.signal?.aborted) {
      throw new InterruptedError(
        `${String(options.signal.reason ?? 'interrupted')} while downloading dataset ${quote(label)}; finished files stay in the cache and a partial one resumes: run the same command again`,
      );
    }
    throw error;
  }
}

async function fetchDatasetOnce(request: DatasetRequest, options: DownloadOptions, label: string): Promise<DatasetFiles> {
  const { settings } = options;
  const hubRepo = `${DATASET_PREFIX}${request.repo}`;
  if (settings.offline) return cachedDataset(request, options, hubRepo, label);

  const context: HubContext = {
    repo: request.repo,
    revision: request.revision,
    endpoint: settings.endpoint,
    dataset: true,
    ...(settings.tokenSource ? { tokenSource: settings.tokenSource } : {}),
  };
  const client = hubClient(settings, options.reporter, options.signal);
  let sha: string;
  let wanted: RemoteFile[];
  try {
    const listing = await fetchListing(client, hubRepo, request.revision, listedFolder(request.path)).catch((error: unknown) => {
      // A folder the revision does not have: no file under the path (said below).
      if (error instanceof HubHttpError && error.status === 404 && error.errorCode === 'EntryNotFound')
        return { sha: '', files: new Map<string, RemoteFile>() };
      throw error;
    });
    sha = listing.sha;
    wanted = [...listing.files.values()].filter((file) => isParquet(file.path) && matchesDatasetPath(file.path, request.path));
  } catch (error) {
    const explained = explainHubError(error, context);
    if (options.signal?.aborted || !isUnreachable(error)) throw explained;
    return cachedAfterFailure(request, options, hubRepo, label, explained);
  }
  if (wanted.length > MAX_DATASET_FILES) {
    throw new InputError(
      `dataset ${quote(label)} has more than ${MAX_DATASET_FILES} Parquet files under ${quote(request.path ?? '/')}; give a narrower path, e.g. hf://datasets/${request.repo}/data/train-*.parquet`,
    );
  }
  wanted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (wanted.length === 0) {
    throw new InputError(
      `dataset ${quote(label)} has no Parquet file${request.path ? ` under ${quote(request.path)}` : ''}; give a path to its .parquet files (e.g. hf://datasets/${request.repo}/data)`,
    );
  }
  for (const expected of wanted) {
    await downloadToCache({ client, repo: hubRepo, sha, expected, context: { ...context, revision: sha, file: expected.path }, options });
  }
  await writeRef(settings.cacheDir, hubRepo, request.revision, sha);
  return { sha, dir: snapshotDir(settings.cacheDir, hubRepo, sha), files: wanted.map((file) => file.path), fromCache: false };
}

async function cachedAfterFailure(
  request: DatasetRequest,
  options: DownloadOptions,
  hubRepo: string,
  label: string,
  failure: ResidNormsError,
): Promise<DatasetFiles> {
  const cached = await cachedDataset(request, options, hubRepo, label).catch(() => undefined);
  if (cached === undefined) throw failure;
  options.reporter.warn(
    `${failure.message.replace(/;.*$/, '')}; using the cached snapshot ${cached.sha.slice(0, 10)} of dataset ${quote(label)} (${cached.files.length} Parquet file${cached.files.length === 1 ? '' : 's'})`,
  );
  return cached;
}

/** The snapshot the cached ref names, with the Parquet files it holds (HF_HUB_OFFLINE, or the Hub unreachable). */
async function cachedDataset(request: DatasetRequest, options: DownloadOptions, hubRepo: string, label: string): Promise<DatasetFiles> {
  const { cacheDir } = options.settings;
  const sha = await readCachedRef(cacheDir, hubRepo, request.revision);
  const dir = sha === undefined ? undefined : snapshotDir(cacheDir, hubRepo, sha);
  const files = dir === undefined ? [] : (await listTree(dir)).filter((file) => isParquet(file) && matchesDatasetPath(file, request.path)).sort();
  if (sha === undefined || dir === undefined || files.length === 0) {
    throw new NetworkError(
      `HF_HUB_OFFLINE is set and dataset ${quote(label)} is not in the cache ${quote(cacheDir)}; run once without HF_HUB_OFFLINE to download it (or set HF_HUB_CACHE to the cache that has it)`,
    );
  }
  for (const file of files) {
    const kind = await cacheEntryKind(join(dir, file)); // DuckDB would wait forever on a FIFO
    if (kind !== 'file')
      throw new NetworkError(
        `the cached ${quote(join(dir, file))} of dataset ${quote(label)} is ${kind === 'missing' ? 'a broken link' : `${kind}, not a regular file`}; remove it and run again online`,
      );
  }
  return { sha, dir, files, fromCache: true };
}

/** Every file under `root` (symlinks included), relative, without following folder links. */
async function listTree(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.push(relative(root, path));
      if (found.length > MAX_DATASET_FILES) return;
    }
  };
  await walk(root);
  return found;
}
