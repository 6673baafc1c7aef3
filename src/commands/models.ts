/**
 * `resid-norms models`: the download size of every alias's repo, asked of the Hub (one listing per
 * repo, all at once, under one deadline). Sizes the Hub does not give — HF_HUB_OFFLINE, no
 * network, a slow answer — stay unknown, with the first reason.
 */
import { MODEL_ALIASES } from '../models/aliases.js';
import { readHubSettings } from '../models/hub/hub-settings.js';
import type { Reporter } from '../messages/reporter.js';

/** The whole listing waits at most this long; a size not in by then is unknown. */
const LOOKUP_DEADLINE_MS = 15_000;

export interface DownloadSizes {
  /** Bytes by repo id; a repo missing here is unknown. */
  bytes: Map<string, number>;
  /** Why sizes are unknown, when some are. */
  unknownBecause?: string;
}

export async function lookUpDownloadSizes(env: NodeJS.ProcessEnv, reporter: Reporter): Promise<DownloadSizes> {
  const settings = readHubSettings(env);
  if (settings.offline) return { bytes: new Map(), unknownBecause: 'HF_HUB_OFFLINE is set' };
  const { hubDownloadSize } = await import('../models/hub/download-size.js');
  const signal = AbortSignal.timeout(LOOKUP_DEADLINE_MS);
  const repos = [...new Set(MODEL_ALIASES.map((entry) => entry.repo))];
  const bytes = new Map<string, number>();
  let unknownBecause: string | undefined;
  await Promise.all(
    repos.map(async (repo) => {
      try {
        bytes.set(repo, await hubDownloadSize(repo, 'main', settings, reporter, signal));
      } catch (error) {
        const reason = signal.aborted ? `the Hub did not answer within ${LOOKUP_DEADLINE_MS / 1000} s` : error instanceof Error ? error.message : String(error);
        unknownBecause ??= reason.split(';')[0];
      }
    }),
  );
  return { bytes, ...(unknownBecause !== undefined ? { unknownBecause } : {}) };
}

/** "548 MB", "6.43 GB", "412 kB": three significant digits, decimal units as the Hub shows them. */
export function formatBytes(bytes: number): string {
  const units: Array<[number, string]> = [
    [1e9, 'GB'],
    [1e6, 'MB'],
    [1e3, 'kB'],
  ];
  for (const [scale, unit] of units) if (bytes >= scale) return `${Number((bytes / scale).toPrecision(3))} ${unit}`;
  return `${bytes} B`;
}
