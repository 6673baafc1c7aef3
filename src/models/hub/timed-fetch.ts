/**
 * A fetch for the Hub client that never waits forever: the response headers must arrive within
 * the connect/header timeout, and while the body is read, every stall window (the stall timeout,
 * counted only while we wait for the server) must bring at least `stallBytes` bytes — so both a
 * transfer that stops and one that trickles a byte now and then end. Both end in a
 * HubTimeoutError whose message starts with "timed out". The caller's AbortSignal
 * (SIGINT/SIGTERM) ends a request or transfer at once.
 */

export class HubTimeoutError extends Error {
  constructor(message: string) {
    super(`timed out: ${message}`);
    this.name = 'HubTimeoutError';
  }
}

/** True for a timeout, also when a library passed on only its message (WebBlob.stream does). */
export function isHubTimeout(error: unknown): boolean {
  if (error instanceof HubTimeoutError) return true;
  const message = typeof error === 'string' ? error : error instanceof Error ? error.message : '';
  return message.startsWith('timed out: ');
}

export interface TimeoutOptions {
  /** Longest wait for the response headers (connect + TLS + server think time). */
  headerTimeoutMs: number;
  /** Length of a stall window, counted while waiting for the server. */
  stallTimeoutMs: number;
  /** Fewest bytes a stall window must bring (1: only a transfer that stops is stalled). */
  stallBytes: number;
  /** Aborts every request and transfer (the user's SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 1000 ? 1 : 0)} s`;

export function createTimedFetch(options: TimeoutOptions, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const signals = [controller.signal, ...(init?.signal ? [init.signal] : []), ...(options.signal ? [options.signal] : [])];
    const headerTimer = setTimeout(
      () => controller.abort(new HubTimeoutError(`no answer within ${seconds(options.headerTimeoutMs)}`)),
      options.headerTimeoutMs,
    );
    let response: Response;
    try {
      response = await inner(input, { ...init, signal: AbortSignal.any(signals) });
    } finally {
      clearTimeout(headerTimer);
    }
    if (response.body === null || [101, 204, 205, 304].includes(response.status)) return response;
    const reader = response.body.getReader();
    // The current stall window: time spent waiting for the server, and the bytes it brought.
    let waitedMs = 0;
    let windowBytes = 0;
    /** `silentMs`: how long the read in flight has waited without a byte. */
    const stalled = (silentMs: number) =>
      new HubTimeoutError(
        windowBytes === 0 || silentMs >= 0.9 * options.stallTimeoutMs
          ? `no data for ${seconds(silentMs)}`
          : `only ${windowBytes} byte${windowBytes === 1 ? '' : 's'} in ${seconds(options.stallTimeoutMs)} (a trickle; at least ${options.stallBytes} expected)`,
      );
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        // The clock runs only while we wait for the server, not while the consumer is busy.
        const startedAt = Date.now();
        const remainingMs = Math.max(0, options.stallTimeoutMs - waitedMs);
        const stallTimer = setTimeout(() => controller.abort(stalled(remainingMs)), remainingMs);
        try {
          const { done, value } = await reader.read();
          if (done) {
            stream.close();
            return;
          }
          stream.enqueue(value);
          waitedMs += Date.now() - startedAt;
          windowBytes += value.byteLength;
          if (windowBytes >= options.stallBytes) {
            waitedMs = 0;
            windowBytes = 0;
          }
        } finally {
          clearTimeout(stallTimer);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    const timed = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    // The Hub client reads url (redirect targets) and redirected from the answer.
    Object.defineProperty(timed, 'url', { value: response.url, configurable: true });
    Object.defineProperty(timed, 'redirected', { value: response.redirected, configurable: true });
    return timed;
  };
}
