/**
 * Hugging Face Hub settings from the environment, read the way Python's huggingface_hub reads
 * them, so both tools share one cache and one login: HF_ENDPOINT, HF_TOKEN (or the token file
 * that `huggingface-cli login` writes), HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE.
 */
import { closeSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { openRegularFileSync } from '../../io/read-regular-file.js';

export interface HubSettings {
  endpoint: string;
  token?: string;
  /** Where the token came from, for messages: "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" or the token file's path. */
  tokenSource?: string;
  cacheDir: string;
  offline: boolean;
  /** First retry delay after a failed request (doubles each time); RESID_NORMS_HUB_RETRY_MS. */
  retryDelayMs: number;
  /** Longest wait for an answer's headers; RESID_NORMS_HUB_TIMEOUT_MS (default 30 s). */
  headerTimeoutMs: number;
  /** Stall window of a download; RESID_NORMS_HUB_STALL_TIMEOUT_MS (default 60 s). */
  stallTimeoutMs: number;
  /** Fewest bytes a stall window must bring; RESID_NORMS_HUB_STALL_BYTES (default 1024). */
  stallBytes: number;
  /**
   * Longest wait for one HTTP 429 (rate limit) before the request is tried again, whatever the
   * server names; RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS (default 300000: the Hub's whole window).
   */
  rateLimitWaitMs: number;
}

const TRUE_VALUES = new Set(['1', 'on', 'yes', 'true']);

function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
}

/** A Hub token is ~40 characters; the token file is read no further than this. */
const MAX_TOKEN_FILE_BYTES = 4096;

function readToken(env: NodeJS.ProcessEnv): { token: string; source: string } | undefined {
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { token: value.trim(), source: name };
  }
  const tokenPath = env.HF_TOKEN_PATH ?? join(hfHome(env), 'token');
  let fd: number | undefined;
  try {
    // Opened as a regular file only (a FIFO planted there must not hang every run), read up to a bound.
    fd = openRegularFileSync(tokenPath);
    const bytes = Buffer.alloc(MAX_TOKEN_FILE_BYTES);
    const length = readSync(fd, bytes, 0, bytes.length, 0);
    const fromFile = bytes.subarray(0, length).toString('utf8').trim();
    return fromFile === '' ? undefined : { token: fromFile, source: `the token file ${tokenPath}` };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readHubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const found = readToken(env);
  if (found !== undefined && !found.token.startsWith('hf_')) {
    throw new UsageError(
      `${found.source} does not look like a Hugging Face access token (tokens start with "hf_"); create one at huggingface.co/settings/tokens`,
    );
  }
  const endpoint = (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  try {
    new URL(endpoint);
  } catch {
    throw new UsageError(`HF_ENDPOINT ${JSON.stringify(endpoint)} is not a URL; e.g. https://huggingface.co`);
  }
  return {
    endpoint,
    ...(found !== undefined ? { token: found.token, tokenSource: found.source } : {}),
    cacheDir: env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(env), 'hub'),
    offline: TRUE_VALUES.has((env.HF_HUB_OFFLINE ?? '').toLowerCase()),
    retryDelayMs: parseDelay('RESID_NORMS_HUB_RETRY_MS', env.RESID_NORMS_HUB_RETRY_MS, 500, 0),
    headerTimeoutMs: parseDelay('RESID_NORMS_HUB_TIMEOUT_MS', env.RESID_NORMS_HUB_TIMEOUT_MS, 30_000, 1),
    stallTimeoutMs: parseDelay('RESID_NORMS_HUB_STALL_TIMEOUT_MS', env.RESID_NORMS_HUB_STALL_TIMEOUT_MS, 60_000, 1),
    stallBytes: parseStallBytes(env.RESID_NORMS_HUB_STALL_BYTES),
    rateLimitWaitMs: parseDelay('RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS', env.RESID_NORMS_HUB_RATE_LIMIT_WAIT_MS, 300_000, 0),
  };
}

function parseStallBytes(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 1024;
  const bytes = Number(value);
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 1 << 30)
    throw new UsageError(`RESID_NORMS_HUB_STALL_BYTES ${JSON.stringify(value)} is not a whole number of bytes from 1 to ${1 << 30}`);
  return bytes;
}

/** Milliseconds from an environment variable, min…1 hour. */
function parseDelay(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < min || ms > 3_600_000)
    throw new UsageError(`${name} ${JSON.stringify(value)} is not a number of milliseconds from ${min} to 3600000`);
  return ms;
}
