/**
 * How many bytes `measure --model <repo>` would download: the files the downloader chooses
 * (config, tokenizer files, the weights of one format or their index and shards), as the Hub's
 * listing of the revision sizes them (one call, the one a download makes first). For
 * `resid-norms models`; bounded by the Hub client's timeouts and the caller's signal.
 */
import type { Reporter } from '../../messages/reporter.js';
import { isWeightIndex, listedShards } from '../weight-formats.js';
import { chooseFiles, fetchModelListing, hubClient } from './hub-download.js';
import type { HubSettings } from './hub-settings.js';

export async function hubDownloadSize(repo: string, revision: string, settings: HubSettings, reporter: Reporter, signal?: AbortSignal): Promise<number> {
  const client = hubClient(settings, reporter, signal);
  const { files } = await fetchModelListing(client, repo, revision, undefined, settings.tokenSource);
  const names = [...files.keys()];
  const chosen = chooseFiles(repo, names);
  // The index names its shards; in the Hub's layout they are the files of its format beside it.
  const shards = listedShards(names, chosen.find(isWeightIndex) ?? '');
  return [...chosen, ...shards].reduce((total, name) => total + (files.get(name)?.size ?? 0), 0);
}
