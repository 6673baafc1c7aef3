/**
 * What a failed Hub request was, kept for src/models/hub/hub-errors.ts to explain, and which
 * failures are worth trying again (src/models/hub/retrying-fetch.ts, the downloader's resumes).
 */
import { BodyLimitError } from './bounded-body.js';
import type { RateLimitInfo } from './rate-limit.js';
import { RedirectError } from './redirecting-fetch.js';
import { isHubTimeout } from './timed-fetch.js';

/** Further tries of a request after a 5xx answer or a dropped connection, and after a 429. */
export const HUB_RETRIES = 3;
export const RATE_LIMIT_RETRIES = 3;

export class HubHttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    /** X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo… */
    readonly errorCode: string | undefined,
    /** X-Error-Message, else the JSON body's "error". */
    readonly errorMessage: string | undefined,
    readonly rateLimit: RateLimitInfo | undefined,
    /** Whether the request carried a token. */
    readonly withToken: boolean,
  ) {
    super(`HTTP ${status} for ${url}${errorMessage ? `: ${errorMessage}` : ''}`);
    this.name = 'HubHttpError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for failures worth retrying: connection resets and timeouts of the connection, not of our bounds. */
export function isTransient(error: unknown): boolean {
  if (error instanceof HubHttpError) return error.status >= 500;
  // A timeout or a stop the user asked for is final; retrying would only prolong it.
  if (isHubTimeout(error) || (error instanceof Error && error.name === 'AbortError')) return false;
  if (error instanceof RedirectError || error instanceof BodyLimitError) return false;
  const code = networkCode(error);
  return (
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'UND_ERR_SOCKET' ||
    (error instanceof Error && /terminated|premature|aborted|other side closed/i.test(error.message))
  );
}

/** Failures a cached copy can stand in for: the Hub not reached, timed out, failing (5xx) or rate-limiting; not its refusals. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof HubHttpError) return error.status >= 500 || error.status === 429;
  return isHubTimeout(error) || networkCode(error) !== undefined || (error instanceof TypeError && /fetch failed/i.test(error.message));
}
