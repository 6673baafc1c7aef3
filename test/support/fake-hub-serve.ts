/**
 * How the fake Hub and its fake CDN serve a file's bytes: Range (206, and 416 with
 * `Content-Range: bytes *\/size` past the end, as S3/CloudFront answer), the ETag headers, and
 * injected faults (5xx, delays, stalls, trickles, dropped connections, corrupt or short bodies,
 * bodies that never end or inflate, a range ignored or always refused). Timers are tracked so
 * stop() leaves nothing running.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

export interface Fault {
  /** Serve this many 500s before answering normally. */
  failTimes?: number;
  /** Send the headers and this many body bytes, then cut the connection (first N times). */
  dropAfterBytes?: number;
  dropTimes?: number;
  /** Serve these bytes instead of the real content (same length): a corrupt download. */
  corruptWith?: Buffer;
  /** Serve only the first N bytes, announced as the whole answer: a wrong-length download. */
  truncateTo?: number;
  /** Wait this long before sending the headers (a server that accepts and then thinks). */
  delayHeadersMs?: number;
  /** Send the body in pieces of `bytes`, one every `everyMs` (a trickling server). */
  trickle?: { bytes: number; everyMs: number };
  /** Send the headers and this many body bytes, then nothing more while the connection stays open. */
  stallAfterBytes?: number;
  /** A body that never ends (no Content-Length, chunks until the client goes away). */
  endless?: boolean;
  /** Content-Encoding: gzip of this many zero bytes (~1/1000 of it on the wire): a decompression bomb. */
  gzipBombBytes?: number;
  /** Answer a Range request with the whole file (200), as some proxies do. */
  ignoreRange?: boolean;
  /** Answer every Range request with 416 ('always': every request, as a CDN whose object is gone). */
  refuseRanges?: boolean | 'always';
  /** `resolve` redirects to the CDN, which redirects back to `resolve`: a loop. */
  redirectLoop?: boolean;
  /** Answer an API call with an endless JSON body (API_FAULT only). */
  endlessAnswer?: boolean;
  /** Answer a revision's info with JSON of the wrong shape (API_FAULT only). */
  malformedAnswer?: boolean;
  /** Answer the next N API calls with 429 (API_FAULT only). */
  rateLimitTimes?: number;
  /** Tree listings whose next page is the page itself, or on another host (API_FAULT only). */
  treeLinks?: 'self' | 'elsewhere';
}

export interface LoggedRequest {
  method: string;
  /** The path, decoded. */
  url: string;
  query: string;
  authorization?: string;
  range?: string;
}

/** The extensions Hugging Face's default .gitattributes stores in LFS (hence Xet): weights, archives, tables. */
const LFS_EXTENSIONS = /\.(safetensors|bin|pt|pth|ckpt|h5|msgpack|onnx|ot|parquet|arrow|tflite|npy|npz|pkl|pickle|gguf|zip|gz|tgz|zst|tar)$/i;

export const isLfsPath = (path: string) => LFS_EXTENSIONS.test(path);
export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A git blob's id: sha1 over "blob <size>\0" and the content. */
export const gitOid = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

export function logRequest(request: IncomingMessage, base: string): LoggedRequest {
  const url = new URL(request.url ?? '/', base);
  return {
    method: request.method ?? 'GET',
    url: safeDecode(url.pathname),
    query: url.search,
    ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
    ...(request.headers.range ? { range: request.headers.range } : {}),
  };
}

export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export class Timers {
  private readonly timers = new Set<NodeJS.Timeout>();

  after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  /** Wait `ms` (ended by clear()); false when the client went away meanwhile. */
  sleep(ms: number, response: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      this.after(ms, () => resolve(!response.destroyed));
      response.on('close', () => resolve(false));
    });
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** Serve `bytes` (a file's content) for this request, Range and faults applied. */
export async function serveBytes(
  bytes: Buffer,
  fault: Fault | undefined,
  headers: Record<string, string>,
  request: IncomingMessage,
  response: ServerResponse,
  timers: Timers,
): Promise<void> {
  if (fault?.failTimes && fault.failTimes > 0) {
    fault.failTimes -= 1;
    response.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"Internal Error"}');
    return;
  }
  if (fault?.delayHeadersMs !== undefined && !(await timers.sleep(fault.delayHeadersMs, response))) return;
  const range = fault?.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  if (fault?.refuseRanges === 'always' || (range && (fault?.refuseRanges || start >= bytes.length))) {
    response.writeHead(416, { 'Content-Range': `bytes */${bytes.length}`, 'Content-Type': 'text/plain' }).end('Requested Range Not Satisfiable');
    return;
  }
  const end = range && range[2] !== '' ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
  const content = fault?.corruptWith ?? bytes;
  let body = content.subarray(start, end + 1);
  if (fault?.truncateTo !== undefined) body = body.subarray(0, fault.truncateTo);
  const common = {
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ...headers,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` } : {}),
  };
  if (fault?.gzipBombBytes !== undefined) {
    const bomb = gzipSync(Buffer.alloc(fault.gzipBombBytes), { level: 9 });
    response.writeHead(range ? 206 : 200, { ...common, 'Content-Encoding': 'gzip', 'Content-Length': String(bomb.length) }).end(bomb);
    return;
  }
  if (fault?.endless) {
    response.writeHead(range ? 206 : 200, common);
    const chunk = Buffer.alloc(64 * 1024, 7);
    const pump = () => {
      while (!response.destroyed && response.write(chunk));
      if (!response.destroyed) response.once('drain', pump);
    };
    response.on('error', () => undefined);
    pump();
    return;
  }
  response.writeHead(range ? 206 : 200, { ...common, 'Content-Length': String(body.length) });
  if (fault?.stallAfterBytes !== undefined) {
    response.write(body.subarray(0, fault.stallAfterBytes)); // then silence until the client or stop() closes it
    return;
  }
  if (fault?.trickle !== undefined) {
    trickle(body, fault.trickle, response, timers);
    return;
  }
  if (fault?.dropAfterBytes !== undefined && (fault.dropTimes ?? 1) > 0) {
    fault.dropTimes = (fault.dropTimes ?? 1) - 1;
    response.write(body.subarray(0, fault.dropAfterBytes), () => response.socket?.destroy());
    return;
  }
  response.end(body);
}

/** Write `body` in pieces on a timer; stops when the body is sent or the client is gone. */
function trickle(body: Buffer, piece: { bytes: number; everyMs: number }, response: ServerResponse, timers: Timers): void {
  let sent = 0;
  const next = () => {
    if (response.destroyed) return;
    if (sent >= body.length) {
      response.end();
      return;
    }
    response.write(body.subarray(sent, sent + piece.bytes));
    sent += piece.bytes;
    timers.after(piece.everyMs, next);
  };
  next();
}
