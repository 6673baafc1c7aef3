/**
 * The Hub's rate-limit headers. It follows the IETF draft "RateLimit header fields for HTTP"
 * (version 9), as documented at huggingface.co/docs/hub/rate-limits and parsed by
 * huggingface_hub ≥ 1.2 (utils/_http.py, parse_ratelimit_headers):
 *   RateLimit: "api";r=0;t=55                       (bucket, requests remaining, seconds to reset)
 *   RateLimit-Policy: "fixed window";"api";q=500;w=300   (quota per window, window in seconds)
 * Proxies and mirrors behind HF_ENDPOINT may send the standard `Retry-After` instead (seconds
 * or an HTTP date), which is read too.
 */

export interface RateLimitInfo {
  /** The bucket named by the server: "api", "resolvers" or "pages". */
  bucket?: string;
  remaining?: number;
  /** Seconds until the window resets (RateLimit's t, else Retry-After). */
  resetSeconds?: number;
  limit?: number;
  windowSeconds?: number;
}

const RATE_LIMIT = /"(?<bucket>[\w-]+)"\s*;\s*r\s*=\s*(?<r>\d{1,12})\s*;\s*t\s*=\s*(?<t>\d{1,12})/;
const POLICY = /q\s*=\s*(?<q>\d{1,12}).*?w\s*=\s*(?<w>\d{1,12})/;

/** What the headers of an answer say about the rate limit; undefined when they say nothing. */
export function parseRateLimit(headers: Headers, now: number = Date.now()): RateLimitInfo | undefined {
  const info: RateLimitInfo = {};
  const limit = RATE_LIMIT.exec(headers.get('ratelimit') ?? '')?.groups;
  if (limit) {
    info.bucket = limit.bucket!;
    info.remaining = Number(limit.r);
    info.resetSeconds = Number(limit.t);
  }
  const policy = POLICY.exec(headers.get('ratelimit-policy') ?? '')?.groups;
  if (policy) {
    info.limit = Number(policy.q);
    info.windowSeconds = Number(policy.w);
  }
  if (info.resetSeconds === undefined) {
    const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
    if (retryAfter !== undefined) info.resetSeconds = retryAfter;
  }
  return Object.keys(info).length > 0 ? info : undefined;
}

/** `Retry-After` as seconds from now: "120" or "Wed, 21 Oct 2015 07:28:00 GMT". */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d{1,12}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : undefined;
}

/**
 * How long to wait before trying again: the reset the server names plus one second (the
 * server rounds its seconds; huggingface_hub adds the same), else `fallbackMs`; never more
 * than `capMs`.
 */
export function rateLimitDelayMs(info: RateLimitInfo | undefined, fallbackMs: number, capMs: number): number {
  const named = info?.resetSeconds === undefined ? fallbackMs : (info.resetSeconds + 1) * 1000;
  return Math.min(named, capMs);
}

/** "0 of 500 api requests left in this 300 s window, reset in 55 s", as much of it as is known. */
export function describeRateLimit(info: RateLimitInfo | undefined): string | undefined {
  if (info === undefined) return undefined;
  const parts: string[] = [];
  if (info.remaining !== undefined) {
    const of = info.limit !== undefined ? ` of ${info.limit}` : '';
    const window = info.windowSeconds !== undefined ? ` in this ${info.windowSeconds} s window` : '';
    parts.push(`${info.remaining}${of} ${info.bucket ?? ''} requests left${window}`.replace(/\s+/g, ' '));
  }
  if (info.resetSeconds !== undefined) parts.push(`reset in ${info.resetSeconds} s`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}
