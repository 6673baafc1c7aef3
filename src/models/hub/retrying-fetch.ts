/**
 * A fetch for the Hub client that retries 5xx answers and dropped connections with
 * exponential backoff. Only the request is retried here; a body that breaks mid-stream is
 * resumed by the downloader.
 */
import { isTransient } from './hub-errors.js';

export interface RetryOptions {
  retries: number;
  baseDelayMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createRetryingFetch({ retries, baseDelayMs }: RetryOptions, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await inner(input, init);
        if (response.status < 500 || attempt >= retries) return response;
        await response.body?.cancel();
      } catch (error) {
        if (attempt >= retries || !isTransient(error) || init?.signal?.aborted) throw error;
      }
      await sleep(baseDelayMs * 2 ** attempt);
    }
  };
}
