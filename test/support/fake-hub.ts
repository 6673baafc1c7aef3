/**
 * A Hugging Face Hub stand-in on 127.0.0.1, serving model and dataset repos the way the Hub's
 * API does for the calls our downloader makes (model/dataset info with sha and siblings, tree
 * listings, paths-info, resolve with Range, under /datasets/ for datasets), each repo with any
 * number of revisions (branches or tags with their own commit and files), with switches for
 * gated repos and injected faults. Every request is logged.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  sha: string;
  files: Map<string, Buffer>;
  /** Requests without a token get 401; with a token that is not listed, 403. */
  gatedTokens?: string[];
  /** Branch names that resolve to `sha` (main always does). */
  branches?: string[];
  /** Other revisions (e.g. Pythia's step1000): name → its own commit and files; the name or the sha resolves to them. */
  revisions?: Record<string, FakeSnapshot>;
}

export interface FakeSnapshot {
  sha: string;
  files: Map<string, Buffer>;
}

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
}

/** Fault key for the model-info API call (GET /api/models/…/revision/…), which resolves the commit. */
export const API_FAULT = '@api';

export interface LoggedRequest {
  method: string;
  url: string;
  authorization?: string;
  range?: string;
}

/** Files larger than this, and all .safetensors files, are served as LFS files (sha256 etags). */
const LFS_THRESHOLD = 1024;

const isLfs = (path: string, bytes: Buffer) => path.endsWith('.safetensors') || bytes.length > LFS_THRESHOLD;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const gitOid = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

/** A file as the tree and paths-info APIs describe it. */
function fileEntry(path: string, bytes: Buffer): Record<string, unknown> {
  return { type: 'file', path, size: bytes.length, oid: gitOid(bytes), ...(isLfs(path, bytes) ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}) };
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  /** Dataset repos, served under /api/datasets/ and /datasets/. */
  readonly datasets = new Map<string, FakeRepo>();
  readonly faults = new Map<string, Fault>();
  readonly log: LoggedRequest[] = [];
  private server?: Server;
  /** Timers of delayed or trickling answers, cleared on stop so nothing outlives the test. */
  private readonly timers = new Set<NodeJS.Timeout>();
  url = '';

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error) => {
        response.statusCode = 500;
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  }

  /** 401/403 for gated repos, or undefined when access is fine. */
  private refuse(repo: FakeRepo, request: IncomingMessage, response: ServerResponse): boolean {
    if (!repo.gatedTokens) return false;
    const token = request.headers.authorization?.replace(/^Bearer /, '');
    if (token && repo.gatedTokens.includes(token)) return false;
    this.json(response, token ? 403 : 401, { error: token ? 'Access to this repo is restricted' : 'Access to model is restricted. You must be authenticated to access it.' });
    return true;
  }

  /** The repo and the snapshot a revision names, or undefined after answering 404. */
  private findRepo(name: string, revision: string, response: ServerResponse, kind: 'models' | 'datasets' = 'models'): (FakeRepo & { snapshot: FakeSnapshot }) | undefined {
    const repo = (kind === 'models' ? this.repos : this.datasets).get(name);
    if (!repo) {
      this.json(response, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
      return undefined;
    }
    if (revision === repo.sha || revision === 'main' || revision === 'HEAD' || (repo.branches ?? []).includes(revision)) return { ...repo, snapshot: { sha: repo.sha, files: repo.files } };
    const other = Object.entries(repo.revisions ?? {}).find(([branch, snapshot]) => branch === revision || snapshot.sha === revision);
    if (other) return { ...repo, snapshot: other[1] };
    this.json(response, 404, { error: `Invalid rev id: ${revision}` }, { 'X-Error-Code': 'RevisionNotFound' });
    return undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    this.log.push({
      method: request.method ?? 'GET',
      url: url.pathname,
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
      ...(request.headers.range ? { range: request.headers.range } : {}),
    });
    const path = decodeURIComponent(url.pathname);

    const info = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (info && request.method === 'GET') {
      const delay = this.faults.get(API_FAULT)?.delayHeadersMs;
      if (delay !== undefined && !(await this.sleep(delay, response))) return;
      const repo = this.findRepo(info[2]!, info[3]!, response, info[1] as 'models' | 'datasets');
      if (!repo || this.refuse(repo, request, response)) return;
      this.json(response, 200, {
        _id: `id-${info[2]}`,
        id: info[2],
        sha: repo.snapshot.sha,
        private: false,
        gated: repo.gatedTokens ? 'manual' : false,
        downloads: 0,
        likes: 0,
        lastModified: '2024-01-01T00:00:00.000Z',
        siblings: [...repo.snapshot.files.keys()].map((rfilename) => ({ rfilename })),
      });
      return;
    }

    const tree = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (tree && request.method === 'GET') {
      const repo = this.findRepo(tree[2]!, tree[3]!, response, tree[1] as 'models' | 'datasets');
      if (!repo || this.refuse(repo, request, response)) return;
      const under = tree[4] ? `${tree[4].replace(/\/+$/, '')}/` : '';
      const recursive = url.searchParams.get('recursive') === 'true';
      const entries: unknown[] = [];
      const folders = new Set<string>();
      for (const [file, bytes] of [...repo.snapshot.files].sort(([a], [b]) => a.localeCompare(b))) {
        if (!file.startsWith(under)) continue;
        const rest = file.slice(under.length).split('/');
        for (let depth = 1; depth < rest.length && (recursive || depth === 1); depth += 1) {
          const folder = under + rest.slice(0, depth).join('/');
          if (!folders.has(folder)) entries.push({ type: 'directory', path: folder, size: 0, oid: gitOid(Buffer.from(folder)) });
          folders.add(folder);
        }
        if (rest.length === 1 || recursive) entries.push(fileEntry(file, bytes));
      }
      this.json(response, 200, entries);
      return;
    }

    const pathsInfo = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/paths-info\/(.+)$/.exec(path);
    if (pathsInfo && request.method === 'POST') {
      const repo = this.findRepo(pathsInfo[2]!, pathsInfo[3]!, response, pathsInfo[1] as 'models' | 'datasets');
      if (!repo || this.refuse(repo, request, response)) return;
      let body = '';
      for await (const chunk of request) body += chunk;
      const { paths } = JSON.parse(body) as { paths: string[] };
      this.json(
        response,
        200,
        paths.filter((p) => repo.snapshot.files.has(p)).map((p) => fileEntry(p, repo.snapshot.files.get(p)!)),
      );
      return;
    }

    const resolve = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve && request.method === 'GET') {
      const repo = this.findRepo(resolve[2]!, resolve[3]!, response, resolve[1] ? 'datasets' : 'models');
      if (!repo || this.refuse(repo, request, response)) return;
      const file = resolve[4]!;
      const bytes = repo.snapshot.files.get(file);
      if (!bytes) {
        this.json(response, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
        return;
      }
      await this.serveFile(file, bytes, request, response);
      return;
    }
    this.json(response, 404, { error: `no route for ${request.method} ${path}` });
  }

  /** Wait `ms` (bounded by stop()); false when the client went away meanwhile. */
  private sleep(ms: number, response: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve(!response.destroyed);
      }, ms);
      this.timers.add(timer);
      response.on('close', () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        resolve(false);
      });
    });
  }

  /** Write `body` in pieces on a timer; stops when the body is sent or the client is gone. */
  private trickle(body: Buffer, piece: { bytes: number; everyMs: number }, response: ServerResponse): void {
    let sent = 0;
    const next = () => {
      if (response.destroyed) return;
      if (sent >= body.length) {
        response.end();
        return;
      }
      response.write(body.subarray(sent, sent + piece.bytes));
      sent += piece.bytes;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        next();
      }, piece.everyMs);
      this.timers.add(timer);
    };
    next();
  }

  private async serveFile(file: string, bytes: Buffer, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const etag = isLfs(file, bytes) ? sha256(bytes) : gitOid(bytes);
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] !== '' ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
    const isProbe = range !== null && start === 0 && end === 0;
    const fault = this.faults.get(file);
    if (fault && !isProbe) {
      if (fault.failTimes && fault.failTimes > 0) {
        fault.failTimes -= 1;
        this.json(response, 500, { error: 'Internal Error' });
        return;
      }
    }
    if (fault?.delayHeadersMs !== undefined && !isProbe && !(await this.sleep(fault.delayHeadersMs, response))) return;
    const content = fault?.corruptWith && !isProbe ? fault.corruptWith : bytes;
    let body = content.subarray(start, end + 1);
    if (fault?.truncateTo !== undefined && !isProbe) body = body.subarray(0, fault.truncateTo);
    response.writeHead(range ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(body.length),
      ETag: `"${etag}"`,
      'X-Linked-Etag': `"${etag}"`,
      'X-Linked-Size': String(bytes.length),
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` } : {}),
    });
    if (fault?.stallAfterBytes !== undefined && !isProbe) {
      response.write(body.subarray(0, fault.stallAfterBytes)); // then silence until the client or stop() closes it
      return;
    }
    if (fault?.trickle !== undefined && !isProbe) {
      this.trickle(body, fault.trickle, response);
      return;
    }
    if (fault?.dropAfterBytes !== undefined && !isProbe && (fault.dropTimes ?? 1) > 0) {
      fault.dropTimes = (fault.dropTimes ?? 1) - 1;
      response.write(body.subarray(0, fault.dropAfterBytes), () => response.socket?.destroy());
      return;
    }
    response.end(body);
  }
}

/** The files of a model folder (flat) as a snapshot the fake Hub serves. */
export async function snapshotFromFolder(dir: string, sha: string): Promise<FakeSnapshot> {
  const { readdir, readFile } = await import('node:fs/promises');
  const files = new Map<string, Buffer>();
  for (const name of await readdir(dir)) files.set(name, await readFile(`${dir}/${name}`));
  return { sha, files };
}

/** A 40-digit commit sha made from a label, for fake repos. */
export function fakeSha(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}
