/**
 * A fetch for the Hub that tries a request again when trying again can help: 5xx answers and
 * dropped connections with exponential backoff, and 429 (rate limit) after the delay the server
 * names in its RateLimit or Retry-After header. Both are bounded: `retries` and
 * `rateLimitRetries` further tries, no 429 wait longer than `rateLimitWaitMs`; after that the
 * last answer is returned for the caller to explain. Every wait ends at once on the request's
 * signal (SIGINT/SIGTERM). Only the request is retried here; a body that breaks mid-stream is
 * resumed by the downloader.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isTransient } from './hub-http-error.js';
import { parseRateLimit, rateLimitDelayMs, type RateLimitInfo } from './rate-limit.js';

export interface RetryOptions {
  /** Further tries after a 5xx answer or a dropped connection, the k-th after baseDelayMs · 2^k. */
  retries: number;
  baseDelayMs: number;
  /** Further tries after a 429. */
  rateLimitRetries: number;
  /** Longest wait for one 429. */
  rateLimitWaitMs: number;
  /** Told before each 429 wait, so a long pause is explained. */
  onRateLimit?: (waitMs: number, info: RateLimitInfo | undefined) => void;
  /** How to wait (tests check the schedule without waiting); ends early on the signal. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const sleepFor = (ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {});

export function createRetryingFetch(options: RetryOptions, inner: typeof fetch = fetch): typeof fetch {
  const sleep = options.sleep ?? sleepFor;
  return async (input, init) => {
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      let waitMs: number;
      try {
        const response = await inner(input, init);
        if (response.status === 429 && rateLimited < options.rateLimitRetries) {
          const info = parseRateLimit(response.headers);
          waitMs = rateLimitDelayMs(info, options.baseDelayMs * 2 ** rateLimited, options.rateLimitWaitMs);
          rateLimited += 1;
          await response.body?.cancel();
          options.onRateLimit?.(waitMs, info);
        } else if (response.status >= 500 && failures < options.retries) {
          waitMs = options.baseDelayMs * 2 ** failures;
          failures += 1;
          await response.body?.cancel();
        } else {
          return response;
        }
      } catch (error) {
        if (failures >= options.retries || !isTransient(error) || init?.signal?.aborted) throw error;
        waitMs = options.baseDelayMs * 2 ** failures;
        failures += 1;
      }
      await sleep(waitMs, init?.signal ?? undefined);
    }
  };
}
