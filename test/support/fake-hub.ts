/**
 * A Hugging Face Hub stand-in on 127.0.0.1 that behaves as the real one does, with a second
 * server on another port standing in for its CDN (cdn-lfs.hf.co for LFS files, the Xet
 * cas-bridge for Xet ones). What it answers, and what is known vs guessed about the real Hub
 * (docs/hub.md):
 *   GET /api/{models|datasets}/{repo}[/revision/{rev}]  the info; `expand=` keeps only the fields
 *       named (plus _id, id), `blobs=true` gives each sibling its size, blobId and lfs{sha256,size}
 *   GET /api/…/tree/{rev}[/{path}]  entries {type, oid, size, path, lfs?, xetHash?}, paged by
 *       `Link: <…cursor=…>; rel="next"` (treePageSize per page)
 *   POST /api/…/paths-info/{rev}  {paths, expand} → the entries of those paths
 *   GET /api/models/{repo}/refs  {branches, tags, converts} of {name, ref, targetCommit}
 *   GET|HEAD /{repo}/resolve/{rev}/{file}  LFS/Xet files: 302 to the CDN with X-Repo-Commit,
 *       X-Linked-Etag, X-Linked-Size (and X-Xet-Hash, Link for Xet) on the 302 itself; small
 *       files: a same-origin 307 to /api/resolve-cache/…, which serves them (ETag = git oid)
 * Refusals as the real Hub gives them: 401 (RepoNotFound) for a missing or private repo without
 * a token, 404 with one; 401 "Invalid credentials in Authorization header" for a refused token,
 * even on a public repo; gated repos list their files but refuse `resolve` (401 without a token,
 * 403 with one lacking access, X-Error-Code GatedRepo); 429 with RateLimit / RateLimit-Policy
 * (and Retry-After when asked) past `rateLimit`. The CDN refuses a request that carries an
 * Authorization header (a signed URL needs none; S3 answers 400 to both). Every request is logged.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { entryOf, infoOf, storedBytes, treePage, xetHash, type FakeRepo, type FakeSnapshot, type Found } from './fake-hub-listings.js';
import { gitOid, isLfsPath, logRequest, safeDecode, serveBytes, sha256, Timers, type Fault, type LoggedRequest } from './fake-hub-serve.js';

export type { FakeRepo, FakeSnapshot } from './fake-hub-listings.js';
export type { Fault, LoggedRequest } from './fake-hub-serve.js';

/** Fault key for the API calls (info, tree, refs, paths-info); other keys are file names. */
export const API_FAULT = '@api';

type Kind = 'models' | 'datasets';

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  /** Dataset repos, served under /api/datasets/ and /datasets/. */
  readonly datasets = new Map<string, FakeRepo>();
  readonly faults = new Map<string, Fault>();
  /** Requests to the Hub, and to its CDN. */
  readonly log: LoggedRequest[] = [];
  readonly cdnLog: LoggedRequest[] = [];
  /** Tokens the Hub refuses (expired, revoked): 401 on every request that carries one. */
  readonly invalidTokens = new Set<string>();
  /** Old name → new name: requests under the old one get a 307 to the same path under the new. */
  readonly renamed = new Map<string, string>();
  /** The anonymous API quota: `limit` calls per window of `windowSeconds`, then 429 until it ends. */
  rateLimit: { limit: number; windowSeconds: number; retryAfter?: boolean } | undefined;
  /** Entries per tree page (guessed: huggingface_hub pages the real tree at 1,000). */
  treePageSize = 1000;
  url = '';
  cdnUrl = '';
  private hub?: Server;
  private cdn?: Server;
  private readonly timers = new Timers();
  /** What the CDN serves: object key → bytes and headers. */
  private readonly objects = new Map<string, { bytes: Buffer; file: string; headers: Record<string, string> }>();
  private window = { start: 0, calls: 0 };

  async start(): Promise<string> {
    const listen = async (handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>): Promise<[Server, string]> => {
      const server = createServer((request, response) => {
        handle(request, response).catch((error) => {
          if (!response.headersSent) response.writeHead(500);
          response.end(String(error));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
    };
    [this.hub, this.url] = await listen((request, response) => this.handle(request, response));
    [this.cdn, this.cdnUrl] = await listen((request, response) => this.serveCdn(request, response));
    return this.url;
  }

  async stop(): Promise<void> {
    this.timers.clear();
    for (const server of [this.hub, this.cdn]) {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
    }
  }

  private json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    response.end(JSON.stringify(body));
  }

  private refuse(response: ServerResponse, status: number, code: string | undefined, message: string): false {
    this.json(response, status, { error: message }, { ...(code ? { 'X-Error-Code': code } : {}), 'X-Error-Message': message });
    return false;
  }

  /** A refused token first (even for public repos), then a missing or private repo. */
  private findRepo(kind: Kind, name: string, request: IncomingMessage, response: ServerResponse): FakeRepo | false {
    const token = request.headers.authorization?.replace(/^Bearer /, '');
    if (token !== undefined && this.invalidTokens.has(token)) return this.refuse(response, 401, undefined, 'Invalid credentials in Authorization header');
    const repo = (kind === 'models' ? this.repos : this.datasets).get(name);
    if (repo === undefined || (repo.privateTokens !== undefined && (token === undefined || !repo.privateTokens.includes(token)))) {
      // Guessed from huggingface_hub's handling: 401 without a token (missing, private and gated alike), 404 with one.
      return token === undefined
        ? this.refuse(response, 401, 'RepoNotFound', 'Invalid username or password.')
        : this.refuse(response, 404, 'RepoNotFound', 'Repository not found');
    }
    return repo;
  }

  private findRevision(kind: Kind, name: string, revision: string, request: IncomingMessage, response: ServerResponse): Found | false {
    const repo = this.findRepo(kind, name, request, response);
    if (repo === false) return false;
    if (revision === repo.sha || revision === 'main' || revision === 'HEAD' || (repo.branches ?? []).includes(revision))
      return { repo, name, snapshot: { sha: repo.sha, files: repo.files }, branch: revision };
    const other = Object.entries(repo.revisions ?? {}).find(([branch, snapshot]) => branch === revision || snapshot.sha === revision);
    if (other) return { repo, name, snapshot: other[1], branch: revision };
    return this.refuse(response, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
  }

  /** The API quota: headers for every API answer, or a 429 (true) when it is spent. */
  private meter(response: ServerResponse): boolean {
    const fault = this.faults.get(API_FAULT);
    if (fault?.rateLimitTimes !== undefined && fault.rateLimitTimes > 0) {
      fault.rateLimitTimes -= 1;
      this.json(response, 429, { error: 'Too Many Requests' }, { RateLimit: '"api";r=0;t=1', 'RateLimit-Policy': '"fixed window";"api";q=500;w=300' });
      return true;
    }
    if (this.rateLimit === undefined) return false;
    const { limit, windowSeconds, retryAfter } = this.rateLimit;
    const now = Date.now();
    if (now - this.window.start >= windowSeconds * 1000) this.window = { start: now, calls: 0 };
    this.window.calls += 1;
    const left = Math.max(1, Math.ceil((this.window.start + windowSeconds * 1000 - now) / 1000));
    const headers = {
      RateLimit: `"api";r=${Math.max(0, limit - this.window.calls)};t=${left}`,
      'RateLimit-Policy': `"fixed window";"api";q=${limit};w=${windowSeconds}`,
    };
    if (this.window.calls <= limit) {
      for (const [key, value] of Object.entries(headers)) response.setHeader(key, value);
      return false;
    }
    this.json(
      response,
      429,
      { error: 'You have exceeded our hourly quotas for action "api". Log in or retry later.' },
      { ...headers, ...(retryAfter ? { 'Retry-After': String(left) } : {}) },
    );
    return true;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.log.push(logRequest(request, this.url));
    const url = new URL(request.url ?? '/', this.url);
    const parts = url.pathname.split('/').slice(1).map(safeDecode);
    const method = request.method ?? 'GET';
    const renamedFrom = this.renamedPrefix(parts);
    if (renamedFrom !== undefined) {
      response.writeHead(307, { Location: url.pathname.replace(renamedFrom[0], renamedFrom[1]) + url.search }).end();
      return;
    }
    if (parts[0] === 'api' && parts[1] === 'resolve-cache') return this.serveCached(parts, request, response);
    if (parts[0] === 'api' && (parts[1] === 'models' || parts[1] === 'datasets')) {
      const fault = this.faults.get(API_FAULT);
      if (fault?.delayHeadersMs !== undefined && !(await this.timers.sleep(fault.delayHeadersMs, response))) return;
      if (this.meter(response)) return;
      if (fault?.endlessAnswer) return this.endless(response);
      if (fault?.malformedAnswer) return this.json(response, 200, { _id: 'x', id: 'x', sha: 'main', siblings: 'config.json' });
      return this.api(parts[1], parts.slice(2), url, method, request, response);
    }
    const datasets = parts[0] === 'datasets';
    const rest = datasets ? parts.slice(1) : parts;
    if (rest[2] === 'resolve' && (method === 'GET' || method === 'HEAD') && rest.length >= 5) {
      return this.resolve(datasets ? 'datasets' : 'models', `${rest[0]}/${rest[1]}`, rest[3]!, rest.slice(4).join('/'), request, response);
    }
    this.json(response, 404, { error: `no route for ${method} ${url.pathname}` });
  }

  private renamedPrefix(parts: string[]): [string, string] | undefined {
    const at = parts[0] === 'api' ? 2 : parts[0] === 'datasets' ? 1 : 0;
    const name = `${parts[at]}/${parts[at + 1]}`;
    const to = this.renamed.get(name);
    return to === undefined ? undefined : [`/${name}/`, `/${to}/`];
  }

  private endless(response: ServerResponse): void {
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.write('{"siblings":[');
    const entry = Buffer.from('{"rfilename":"x"},'.repeat(4096));
    const pump = () => {
      while (!response.destroyed && response.write(entry));
      if (!response.destroyed) response.once('drain', pump);
    };
    response.on('error', () => undefined);
    pump();
  }

  private async api(kind: Kind, parts: string[], url: URL, method: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const name = `${parts[0]}/${parts[1]}`;
    const [route, revision] = [parts[2], parts[3]];
    if (route === 'refs' && method === 'GET') {
      const repo = this.findRepo(kind, name, request, response);
      if (repo === false) return;
      const ref = (branch: string, sha: string) => ({ name: branch, ref: `refs/heads/${branch}`, targetCommit: sha });
      const branches = [
        ref('main', repo.sha),
        ...(repo.branches ?? []).map((branch) => ref(branch, repo.sha)),
        ...Object.entries(repo.revisions ?? {}).map(([branch, snapshot]) => ref(branch, snapshot.sha)),
      ];
      this.json(response, 200, { branches, tags: [], converts: [], ...(url.searchParams.get('include_prs') ? { pullRequests: [] } : {}) });
      return;
    }
    if ((route === undefined || route === 'revision') && method === 'GET') {
      const found = this.findRevision(kind, name, route === undefined ? 'main' : parts.slice(3).join('/'), request, response);
      if (found !== false) this.json(response, 200, infoOf(found, url.searchParams));
      return;
    }
    if (route === 'tree' && method === 'GET' && revision !== undefined) {
      const found = this.findRevision(kind, name, revision, request, response);
      if (found === false) return;
      const page = treePage(found, parts.slice(4).join('/'), url, this.treePageSize);
      if (page === undefined) return void this.refuse(response, 404, 'EntryNotFound', `${parts.slice(4).join('/')} does not exist on "${found.branch}"`);
      const links = this.faults.get(API_FAULT)?.treeLinks;
      const link =
        links === 'self'
          ? `<${url.href}>; rel="next"`
          : links === 'elsewhere'
            ? `<${this.cdnUrl}${url.pathname}?cursor=1>; rel="next"`
            : page.next && `<${page.next}>; rel="next"`;
      this.json(response, 200, page.entries, link ? { Link: link } : {});
      return;
    }
    if (route === 'paths-info' && method === 'POST' && revision !== undefined) {
      const found = this.findRevision(kind, name, parts.slice(3).join('/'), request, response);
      if (found === false) return;
      let body = '';
      for await (const chunk of request) body += chunk;
      const form = new URLSearchParams(body);
      const { paths, expand } = request.headers['content-type']?.includes('json')
        ? (JSON.parse(body) as { paths: string[]; expand?: boolean })
        : { paths: form.getAll('paths'), expand: form.get('expand') === 'true' };
      this.json(
        response,
        200,
        paths.filter((path) => found.snapshot.files.has(path)).map((path) => entryOf(found, path, found.snapshot.files.get(path)!, expand === true)),
      );
      return;
    }
    this.json(response, 404, { error: `no route for ${method} ${url.pathname}` });
  }

  private async resolve(kind: Kind, name: string, revision: string, file: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const found = this.findRevision(kind, name, revision, request, response);
    if (found === false) return;
    const { repo, snapshot } = found;
    if (repo.gatedTokens) {
      const token = request.headers.authorization?.replace(/^Bearer /, '');
      const restricted = `Access to ${kind === 'models' ? 'model' : 'dataset'} ${name} is restricted`;
      if (token === undefined)
        return void this.refuse(response, 401, 'GatedRepo', `${restricted}. You must have access to it and be authenticated to access it. Please log in.`);
      if (!repo.gatedTokens.includes(token))
        return void this.refuse(
          response,
          403,
          'GatedRepo',
          `${restricted} and you are not in the authorized list. Visit https://huggingface.co/${name} to ask for access.`,
        );
    }
    const bytes = snapshot.files.get(file);
    if (bytes === undefined) return void this.refuse(response, 404, 'EntryNotFound', `${file} does not exist on "${revision}"`);
    const fault = this.faults.get(file);
    const etag = isLfsPath(file) ? sha256(bytes) : gitOid(bytes);
    const meta = {
      'X-Repo-Commit': snapshot.sha,
      'X-Linked-Etag': `"${etag}"`,
      'X-Linked-Size': String(bytes.length),
      ETag: `"${gitOid(storedBytes(file, bytes))}"`,
      'Accept-Ranges': 'bytes',
    };
    const encodedFile = file.split('/').map(encodeURIComponent).join('/');
    if (!isLfsPath(file)) {
      // Guessed from what huggingface.co answers today: a same-origin 307 to a cache route keyed by commit and etag.
      const location = `/api/resolve-cache/${kind}/${name}/${snapshot.sha}/${encodedFile}?${encodeURIComponent(`/${name}/resolve/${revision}/${file}`)}=&etag=%22${etag}%22`;
      response
        .writeHead(307, { ...meta, Location: location, 'Content-Type': 'text/plain; charset=utf-8' })
        .end(`Temporary Redirect. Redirecting to ${location}`);
      return;
    }
    const xet = (repo.storage ?? 'xet') === 'xet';
    const key = xet
      ? `/xet-bridge-us/${createHash('sha1').update(name).digest('hex').slice(0, 24)}/${xetHash(bytes)}`
      : `/repos/${etag.slice(0, 2)}/${etag.slice(2, 4)}/${etag}`;
    this.objects.set(key, { bytes, file, headers: { ETag: `"${etag}"` } });
    const signed = `${this.cdnUrl}${key}?${xet ? `X-Xet-Signed-Range=bytes%3D0-${Math.max(0, bytes.length - 1)}&` : `response-content-disposition=${encodeURIComponent(`inline; filename*=UTF-8''${file.split('/').pop()}`)}&`}Expires=${Math.floor(Date.now() / 1000) + 3600}&Signature=fake&Key-Pair-Id=K1`;
    const xetHeaders = xet
      ? {
          'X-Xet-Hash': xetHash(bytes),
          Link: `<${this.url}/api/${kind}/${name}/xet-read-token/${snapshot.sha}>; rel="xet-auth", <https://cas-server.xethub.hf.co/v1/reconstructions/${xetHash(bytes)}>; rel="xet-reconstruction-info"`,
        }
      : {};
    if (xet && (request.headers.accept ?? '').includes('application/vnd.xet-fileinfo+json')) {
      // What @huggingface/hub's fileDownloadInfo asks for Xet files: the file info, not a redirect (the tool never asks it).
      response.writeHead(200, { ...meta, ...xetHeaders, 'Content-Type': 'application/vnd.xet-fileinfo+json' }).end(
        JSON.stringify({
          hash: xetHash(bytes),
          refreshUrl: `${this.url}/api/${kind}/${name}/xet-read-token/${snapshot.sha}`,
          reconstructionUrl: `https://cas-server.xethub.hf.co/v1/reconstructions/${xetHash(bytes)}`,
          etag,
          size: bytes.length,
        }),
      );
      return;
    }
    const target = fault?.redirectLoop ? `${this.cdnUrl}/loop${key}` : signed;
    response.writeHead(302, { ...meta, ...xetHeaders, Location: target, 'Content-Type': 'text/plain; charset=utf-8' }).end(`Found. Redirecting to ${target}`);
    if (fault?.redirectLoop) this.objects.set(`/loop${key}`, { bytes, file, headers: { Location: `${this.url}${request.url}` } });
  }

  private async serveCached(parts: string[], request: IncomingMessage, response: ServerResponse): Promise<void> {
    const [kind, owner, repoName, sha, ...fileParts] = parts.slice(2);
    const found = this.findRevision(kind as Kind, `${owner}/${repoName}`, sha ?? '', request, response);
    if (found === false) return;
    const file = fileParts.join('/');
    const bytes = found.snapshot.files.get(file);
    if (bytes === undefined) return void this.refuse(response, 404, 'EntryNotFound', `${file} does not exist`);
    await serveBytes(bytes, this.faults.get(file), { ETag: `"${gitOid(bytes)}"`, 'X-Repo-Commit': found.snapshot.sha }, request, response, this.timers);
  }

  private async serveCdn(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.cdnLog.push(logRequest(request, this.cdnUrl));
    const path = new URL(request.url ?? '/', this.cdnUrl).pathname;
    const object = this.objects.get(path);
    if (object === undefined) return void response.writeHead(404, { 'Content-Type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
    if (request.headers.authorization !== undefined) {
      response
        .writeHead(400, { 'Content-Type': 'application/xml' })
        .end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
      return;
    }
    if (object.headers.Location !== undefined) return void response.writeHead(302, { Location: object.headers.Location }).end();
    await serveBytes(object.bytes, this.faults.get(object.file), object.headers, request, response, this.timers);
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
