/**
 * Redirects of the Hub, followed by hand. `resolve` answers 302 to a CDN on another host
 * (cdn-lfs, cas-bridge.xethub) for LFS and Xet files, and 307 to a same-origin path for small
 * files; fetch's own following would send our Authorization header on to the CDN (a signed URL
 * needs none, and the token must not leave the Hub) and end a loop only after 20 requests as
 * "fetch failed". Here a hop to another origin drops the Authorization header, a URL met twice
 * is named as a loop, at most MAX_REDIRECTS hops are followed, and only http(s) targets are
 * taken, never https → http.
 */

export const MAX_REDIRECTS = 10;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class RedirectError extends Error {
  constructor(
    readonly reason: 'loop' | 'too-many' | 'bad-target',
    message: string,
  ) {
    super(message);
    this.name = 'RedirectError';
  }
}

/** A URL for a message: origin and path, without the query (signed URLs carry secrets there). */
export function shortUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function withoutAuthorization(headers: HeadersInit | undefined): Headers {
  const copy = new Headers(headers);
  copy.delete('authorization');
  return copy;
}

export function createRedirectingFetch(inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const first = new URL(input instanceof Request ? input.url : String(input));
    let url = first;
    let current: RequestInit = { ...init, redirect: 'manual' };
    const seen = [url.href];
    for (let hop = 0; ; hop += 1) {
      const response = await inner(url, current);
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null) return withUrl(response, url, hop > 0);
      await response.body?.cancel();
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RedirectError('bad-target', `redirected from ${shortUrl(url)} to ${JSON.stringify(location.slice(0, 80))}, which is not a URL`);
      }
      if (!['http:', 'https:'].includes(next.protocol) || (url.protocol === 'https:' && next.protocol === 'http:')) {
        throw new RedirectError(
          'bad-target',
          `redirected from ${shortUrl(url)} to ${shortUrl(next)}: only http(s) targets are followed, never from https to http`,
        );
      }
      if (seen.includes(next.href)) {
        const loop = [...seen.slice(seen.indexOf(next.href)), next.href].map((href) => new URL(href).pathname);
        throw new RedirectError('loop', `redirects in a loop (${loop.join(' → ')})`);
      }
      if (hop + 1 > MAX_REDIRECTS) throw new RedirectError('too-many', `more than ${MAX_REDIRECTS} redirects, the last to ${shortUrl(next)}`);
      seen.push(next.href);
      const method = response.status === 303 || ((response.status === 301 || response.status === 302) && current.method === 'POST') ? 'GET' : current.method;
      const headers = next.origin === first.origin ? new Headers(current.headers) : withoutAuthorization(current.headers);
      current = { ...current, headers, ...(method !== current.method ? { method, body: null } : {}) };
      url = next;
    }
  };
}

/** The answer with the URL it came from (what fetch's own following would report). */
function withUrl(response: Response, url: URL, redirected: boolean): Response {
  Object.defineProperty(response, 'url', { value: url.href, configurable: true });
  Object.defineProperty(response, 'redirected', { value: redirected, configurable: true });
  return response;
}
