/**
 * Bodies read with a bound. A server decides how much it sends; we decide how much we take: an
 * API answer at most MAX_API_ANSWER_BYTES, a file at most the size its listing promised. The
 * bytes are counted as they arrive, after fetch's decompression, so neither an endless body nor
 * a gzip bomb (a few kB that inflate to gigabytes) gets further than the bound.
 */

/**
 * Most bytes of one API answer (a listing, a model's info, refs, an error body). The largest
 * model listing with file metadata we know of is well under 1 MB; a tree page of 1,000 entries
 * is ~300 kB. Parsed JSON costs ~5× its text, so this bounds an answer's memory at ~160 MB.
 */
export const MAX_API_ANSWER_BYTES = 32 * 1024 * 1024;

/** Most bytes of an error answer's body kept for its message. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class BodyLimitError extends Error {
  constructor(
    readonly limit: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyLimitError';
  }
}

/**
 * The body's chunks, at most `limit` bytes in all: more, or a Content-Length above it, ends in
 * a BodyLimitError saying `tooLong` (and the transfer is cancelled).
 */
export async function* readLimited(response: Response, limit: number, tooLong: string): AsyncGenerator<Uint8Array> {
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  if (!encoded && Number.isFinite(announced) && announced > limit) {
    await response.body?.cancel();
    throw new BodyLimitError(limit, tooLong);
  }
  if (response.body === null) return;
  const reader = response.body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > limit) throw new BodyLimitError(limit, tooLong);
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export async function readLimitedBytes(response: Response, limit: number, tooLong: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readLimited(response, limit, tooLong)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** An API answer as JSON, at most MAX_API_ANSWER_BYTES; undefined when it is not JSON. `what` names it ("the answer of <url>"). */
export async function readApiJson(response: Response, what: string): Promise<unknown> {
  const text = (
    await readLimitedBytes(response, MAX_API_ANSWER_BYTES, `${what} is larger than ${MAX_API_ANSWER_BYTES} bytes, the most an API answer may be`)
  ).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
