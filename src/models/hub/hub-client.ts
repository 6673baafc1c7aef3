/**
 * The one way this tool talks to the Hub: every request goes through the same chain, outermost
 * first: retries (5xx, dropped connections, 429 after the named delay) → redirects followed by
 * hand (bounded, loops named, no token to other hosts) → time bounds per hop (headers, stalls)
 * → fetch. An answer that is not a success becomes a HubHttpError carrying what the Hub said
 * (status, X-Error-Code, X-Error-Message or the body's "error", the rate-limit headers), for
 * src/models/hub/hub-errors.ts to explain.
 */
import type { HubSettings } from './hub-settings.js';
import { MAX_ERROR_BODY_BYTES, readApiJson, readLimitedBytes } from './bounded-body.js';
import { HUB_RETRIES, HubHttpError, RATE_LIMIT_RETRIES } from './hub-http-error.js';
import { parseRateLimit, type RateLimitInfo } from './rate-limit.js';
import { createRedirectingFetch, shortUrl } from './redirecting-fetch.js';
import { createRetryingFetch } from './retrying-fetch.js';
import { createTimedFetch } from './timed-fetch.js';

export interface HubRequest {
  /** Ask for the bytes from this offset on (Range: bytes=N-). */
  fromByte?: number;
  method?: 'GET' | 'POST';
  body?: string;
  accept?: string;
}

export interface HubClient {
  endpoint: string;
  /** Where the token came from (for messages), when one is sent. */
  tokenSource?: string;
  /** An answer of 2xx (206 included), or a HubHttpError; 416 is returned for the caller to judge. */
  request(url: string | URL, options?: HubRequest): Promise<Response>;
  /** GET an API path (e.g. `/api/models/o/n/refs`) as JSON, at most MAX_API_ANSWER_BYTES. */
  getJson(pathOrUrl: string): Promise<{ json: unknown; response: Response }>;
}

export interface ClientOptions {
  signal?: AbortSignal;
  /** Told before a wait for the rate limit (milliseconds, and what the server said). */
  onRateLimit?: (waitMs: number, info: RateLimitInfo | undefined) => void;
}

export function createHubClient(settings: HubSettings, options: ClientOptions = {}): HubClient {
  const { signal } = options;
  const timed = createTimedFetch({
    headerTimeoutMs: settings.headerTimeoutMs,
    stallTimeoutMs: settings.stallTimeoutMs,
    stallBytes: settings.stallBytes,
    ...(signal ? { signal } : {}),
  });
  const hubFetch = createRetryingFetch(
    {
      retries: HUB_RETRIES,
      baseDelayMs: settings.retryDelayMs,
      rateLimitRetries: RATE_LIMIT_RETRIES,
      rateLimitWaitMs: settings.rateLimitWaitMs,
      ...(options.onRateLimit ? { onRateLimit: options.onRateLimit } : {}),
    },
    createRedirectingFetch(timed),
  );
  const endpointOrigin = new URL(settings.endpoint).origin;

  const request = async (target: string | URL, req: HubRequest = {}): Promise<Response> => {
    const url = new URL(target, settings.endpoint);
    const headers = new Headers({ 'User-Agent': 'resid-norms', 'Accept-Encoding': 'identity' });
    if (req.accept) headers.set('Accept', req.accept);
    if (req.body !== undefined) headers.set('Content-Type', 'application/json');
    if (req.fromByte !== undefined && req.fromByte > 0) headers.set('Range', `bytes=${req.fromByte}-`);
    const withToken = settings.token !== undefined && url.origin === endpointOrigin; // never to another host
    if (withToken) headers.set('Authorization', `Bearer ${settings.token}`);
    const response = await hubFetch(url, {
      method: req.method ?? 'GET',
      headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(signal ? { signal } : {}),
    });
    if (response.ok || response.status === 416) return response;
    throw await toHttpError(response, withToken);
  };

  return {
    endpoint: settings.endpoint,
    ...(settings.token !== undefined && settings.tokenSource !== undefined ? { tokenSource: settings.tokenSource } : {}),
    request,
    getJson: async (pathOrUrl) => {
      const response = await request(pathOrUrl, { accept: 'application/json' });
      return { json: await readApiJson(response, `the answer of ${shortUrl(new URL(response.url))}`), response };
    },
  };
}

async function toHttpError(response: Response, withToken: boolean): Promise<HubHttpError> {
  let bodyError: string | undefined;
  try {
    const text = (await readLimitedBytes(response, MAX_ERROR_BODY_BYTES, 'an error answer too long to read')).toString('utf8');
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    const message = parsed.error ?? parsed.message;
    if (typeof message === 'string') bodyError = message;
  } catch {
    // not JSON, too long or cut: the status and headers say enough
  }
  const headerMessage = response.headers.get('x-error-message') ?? undefined;
  const url = shortUrl(new URL(response.url));
  return new HubHttpError(
    response.status,
    url,
    response.headers.get('x-error-code') ?? undefined,
    headerMessage ?? bodyError,
    parseRateLimit(response.headers),
    withToken,
  );
}
