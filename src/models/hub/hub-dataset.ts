/**
 * Dataset repos from the Hugging Face Hub into the shared cache, in Python's layout
 * (`datasets--{owner}--{name}/{refs,blobs,snapshots}`), through the same client, time bounds,
 * retries and checks as models (src/models/hub/hub-download.ts). The commit is resolved first;
 * then the repo's Parquet files (all of them, or those under a path or matching a glob) are
 * fetched; refs/<revision> is written once every file is in place.
 */
import { datasetInfo, HubApiError, listFiles } from '@huggingface/hub';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError, NetworkError, quote } from '../../errors.js';
import { COMMIT_SHA, DATASET_PREFIX, readCachedRef, snapshotDir, writeRef } from './hub-cache.js';
import { downloadToCache, hubCredentials, type DownloadOptions } from './hub-download.js';
import { explainHubError, type HubContext } from './hub-errors.js';

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

const isParquet = (file: string) => file.toLowerCase().endsWith('.parquet');

export async function fetchDatasetFiles(request: DatasetRequest, options: DownloadOptions): Promise<DatasetFiles> {
  const { settings } = options;
  const hubRepo = `${DATASET_PREFIX}${request.repo}`;
  const label = `${request.repo}@${request.revision}`;
  if (settings.offline) return cachedDataset(request, options, hubRepo, label);

  const context: HubContext = { repo: hubRepo, revision: request.revision, endpoint: settings.endpoint };
  const credentials = hubCredentials(settings, options.signal);
  let sha: string;
  const paths: string[] = [];
  try {
    const info = await datasetInfo({ name: request.repo, revision: request.revision, additionalFields: ['sha'], ...credentials });
    sha = String(info.sha);
    if (!COMMIT_SHA.test(sha)) throw new NetworkError(`${settings.endpoint} gave ${quote(sha)} as the commit of dataset ${quote(label)}; expected a 40-digit sha`);
    for await (const entry of listFiles({ repo: hubRepo, revision: sha, recursive: true, ...credentials })) {
      if (entry.type === 'file' && isParquet(entry.path) && matchesDatasetPath(entry.path, request.path)) paths.push(entry.path);
      if (paths.length > MAX_DATASET_FILES) throw new InputError(`dataset ${quote(label)} has more than ${MAX_DATASET_FILES} Parquet files under ${quote(request.path ?? '/')}; give a narrower path, e.g. hf://datasets/${request.repo}/data/train-*.parquet`);
    }
  } catch (error) {
    if (options.signal?.aborted) throw explainHubError(error, context);
    if (error instanceof HubApiError && error.statusCode === 404) {
      throw new InputError(`dataset ${quote(request.repo)} (revision ${quote(request.revision)}) not found on ${settings.endpoint}; check the name and revision (e.g. hf://datasets/NeelNanda/pile-10k)`);
    }
    throw explainHubError(error, context);
  }
  paths.sort();
  if (paths.length === 0) {
    throw new InputError(`dataset ${quote(label)} has no Parquet file${request.path ? ` under ${quote(request.path)}` : ''}; give a path to its .parquet files (e.g. hf://datasets/${request.repo}/data)`);
  }
  for (const file of paths) {
    await downloadToCache({ repo: hubRepo, sha, file, credentials, context: { ...context, revision: sha, file }, options });
  }
  await writeRef(settings.cacheDir, hubRepo, request.revision, sha);
  return { sha, dir: snapshotDir(settings.cacheDir, hubRepo, sha), files: paths, fromCache: false };
}

/** HF_HUB_OFFLINE: the snapshot the cached ref names, with the Parquet files it holds. */
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
