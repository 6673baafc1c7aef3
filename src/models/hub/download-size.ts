/**
 * How many bytes `measure --model <repo>` would download: the files the downloader chooses
 * (config, tokenizer files, the safetensors weights or their index and shards), as the Hub's
 * tree listing sizes them. For `resid-norms models`; bounded by the Hub settings' timeouts and
 * by the caller's signal, and without retries (a listing is not worth a wait).
 */
import { listFiles } from '@huggingface/hub';
import { WEIGHTS_INDEX_FILE } from '../weight-index.js';
import { chooseFiles } from './hub-download.js';
import { explainHubError } from './hub-errors.js';
import type { HubSettings } from './hub-settings.js';
import { createTimedFetch } from './timed-fetch.js';

/** At most this many entries are read from one listing (a model repo's root has tens). */
const MAX_ENTRIES = 10_000;

export async function hubDownloadSize(repo: string, revision: string, settings: HubSettings, signal?: AbortSignal): Promise<number> {
  const fetch = createTimedFetch({ headerTimeoutMs: settings.headerTimeoutMs, stallTimeoutMs: settings.stallTimeoutMs, stallBytes: settings.stallBytes, ...(signal ? { signal } : {}) });
  const sizes = new Map<string, number>();
  try {
    for await (const entry of listFiles({ repo, revision, hubUrl: settings.endpoint, fetch, ...(settings.token ? { accessToken: settings.token } : {}) })) {
      if (entry.type === 'file') sizes.set(entry.path, entry.lfs?.size ?? entry.size);
      if (sizes.size >= MAX_ENTRIES) break;
    }
  } catch (error) {
    throw explainHubError(error, { repo, revision, endpoint: settings.endpoint });
  }
  const names = [...sizes.keys()];
  const chosen = chooseFiles(repo, names);
  // The index names its shards; in the Hub's layout they are the .safetensors files beside it.
  const shards = chosen.includes(WEIGHTS_INDEX_FILE) ? names.filter((name) => name.endsWith('.safetensors') && !name.includes('/')) : [];
  return [...chosen, ...shards].reduce((total, name) => total + (sizes.get(name) ?? 0), 0);
}
