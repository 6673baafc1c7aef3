/**
 * The Hub's API as this tool uses it, with every answer checked before use (the server is
 * untrusted input like any file):
 *   GET /api/models/{repo}/revision/{rev}?blobs=true  the commit and every file with its size,
 *       git oid and LFS sha256: ONE call per revision for all its files (what huggingface_hub's
 *       model_info(files_metadata=True) asks)
 *   GET /api/datasets/{repo}/revision/{rev}?expand=sha  a dataset's commit, then
 *   GET /api/datasets/{repo}/tree/{sha}/{path}?recursive=true  its files, paged by the Link header
 *   GET /api/models/{repo}/refs  the branches and tags (huggingface_hub's list_repo_refs)
 *   GET /{repo}/resolve/{sha}/{file}  the bytes (src/models/hub/hub-blob.ts)
 * A ListingCache keeps the listings a command made, so a sweep that lists its members before
 * measuring them (src/sweep/sweep-revisions.ts) does not list them again to download them.
 */
import { z } from 'zod';
import { DATASET_PREFIX } from './hub-cache.js';
import type { HubClient } from './hub-client.js';
import type { ListingCache, RemoteFile, RevisionListing } from './listing-cache.js';
import { shortUrl } from './redirecting-fetch.js';

export type { RemoteFile, RevisionListing } from './listing-cache.js';

/** A listing the Hub gave that cannot be used (not JSON, wrong shape, a name leading out of the repo, endless pages). */
export class ListingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListingError';
  }
}

/** Most files one listing may hold, and most pages one tree listing may take. */
export const MAX_LISTED_FILES = 200_000;
export const MAX_LISTING_PAGES = 200;

const SHA1 = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const ModelInfoSchema = z.object({
  sha: z.string().regex(SHA1),
  siblings: z
    .array(
      z.object({
        rfilename: z.string().min(1).max(1000),
        size: size.optional(),
        blobId: z.string().regex(SHA1).optional(),
        lfs: z.object({ sha256: z.string().regex(SHA256), size }).optional(),
      }),
    )
    .max(MAX_LISTED_FILES),
});
const ShaSchema = z.object({ sha: z.string().regex(SHA1) });
const TreeSchema = z
  .array(
    z.object({
      type: z.string(),
      path: z.string().min(1).max(1000),
      size: size.optional(),
      oid: z.string().optional(),
      lfs: z.object({ oid: z.string().regex(SHA256), size }).optional(),
    }),
  )
  .max(MAX_LISTED_FILES);
const RefsSchema = z.object({ branches: z.array(z.object({ name: z.string().max(300), targetCommit: z.string().regex(SHA1) })).max(MAX_LISTED_FILES) });

/** Why a repo path is unsafe as a path in the cache, or undefined when it is a plain relative path. */
export function repoPathProblem(path: string): string | undefined {
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return 'it holds a control character or a backslash';
  if (path.startsWith('/')) return 'it is absolute';
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..'))
    return 'it has an empty, "." or ".." part (a path out of the snapshot folder)';
  return undefined;
}

const kindOf = (repo: string) =>
  repo.startsWith(DATASET_PREFIX) ? { api: 'datasets', name: repo.slice(DATASET_PREFIX.length) } : { api: 'models', name: repo };

function parse<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ListingError(
    json === undefined
      ? `${what} is not JSON`
      : `${what} is not what the Hub API gives (${issue?.path.join('.') || 'answer'}: ${issue?.message ?? 'wrong shape'})`,
  );
}

function addFile(files: Map<string, RemoteFile>, file: RemoteFile, what: string): void {
  const problem = repoPathProblem(file.path);
  if (problem !== undefined) throw new ListingError(`${what} lists a file ${JSON.stringify(file.path.slice(0, 120))}, refused: ${problem}`);
  files.set(file.path, file);
}

/**
 * A revision's commit and files: one API call, or none when `cache` has it already. For a
 * dataset, `path` (a folder) narrows the tree listed.
 */
export async function fetchListing(client: HubClient, repo: string, revision: string, path = '', cache?: ListingCache): Promise<RevisionListing> {
  const key = `${client.endpoint}\n${repo}\n${revision}\n${path}`;
  const known = cache?.get(key);
  if (known !== undefined) return known;
  const { api, name } = kindOf(repo);
  const what = `the listing of ${api === 'datasets' ? `dataset ${name}` : name}@${revision}`;
  const files = new Map<string, RemoteFile>();
  let sha: string;
  if (api === 'models') {
    const info = parse(ModelInfoSchema, (await client.getJson(`/api/models/${name}/revision/${encodeURIComponent(revision)}?blobs=true`)).json, what);
    sha = info.sha;
    for (const sibling of info.siblings) {
      const fileSize = sibling.lfs?.size ?? sibling.size;
      if (fileSize === undefined) throw new ListingError(`${what} gives no size for ${JSON.stringify(sibling.rfilename)}`);
      addFile(
        files,
        {
          path: sibling.rfilename,
          size: fileSize,
          ...(sibling.blobId ? { gitOid: sibling.blobId } : {}),
          ...(sibling.lfs ? { sha256: sibling.lfs.sha256 } : {}),
        },
        what,
      );
    }
  } else {
    sha = parse(ShaSchema, (await client.getJson(`/api/datasets/${name}/revision/${encodeURIComponent(revision)}?expand=sha`)).json, what).sha;
    for await (const entry of listTree(client, `/api/datasets/${name}/tree/${sha}${path ? `/${path}` : ''}?recursive=true&expand=false`, what)) {
      if (entry.type !== 'file') continue;
      if (entry.size === undefined) throw new ListingError(`${what} gives no size for ${JSON.stringify(entry.path)}`);
      const gitOid = entry.oid !== undefined && SHA1.test(entry.oid) ? entry.oid : undefined;
      addFile(
        files,
        { path: entry.path, size: entry.lfs?.size ?? entry.size, ...(gitOid ? { gitOid } : {}), ...(entry.lfs ? { sha256: entry.lfs.oid } : {}) },
        what,
      );
      if (files.size > MAX_LISTED_FILES) throw new ListingError(`${what} has more than ${MAX_LISTED_FILES} files; give a narrower path`);
    }
  }
  const listing = { sha, files };
  cache?.set(key, listing);
  cache?.set(`${client.endpoint}\n${repo}\n${sha}\n${path}`, listing);
  return listing;
}

/** The pages of a tree listing, following `Link: <…>; rel="next"`: same origin only, each page once, at most MAX_LISTING_PAGES. */
async function* listTree(client: HubClient, first: string, what: string): AsyncGenerator<z.infer<typeof TreeSchema>[number]> {
  const seen = new Set<string>();
  let next: URL | undefined = new URL(first, client.endpoint);
  while (next !== undefined) {
    if (seen.has(next.href)) throw new ListingError(`${what} links to a page it gave already (${shortUrl(next)}), a loop`);
    if (seen.size >= MAX_LISTING_PAGES) throw new ListingError(`${what} runs to more than ${MAX_LISTING_PAGES} pages; give a narrower path`);
    seen.add(next.href);
    const { json, response } = await client.getJson(next.href);
    yield* parse(TreeSchema, json, what);
    next = nextPage(response.headers.get('link'), next, client.endpoint, what);
  }
}

function nextPage(link: string | null, current: URL, endpoint: string, what: string): URL | undefined {
  const target = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link ?? '')?.[1];
  if (target === undefined) return undefined;
  const url = new URL(target, current);
  if (url.origin !== new URL(endpoint).origin) throw new ListingError(`${what} links its next page to another host (${url.origin}); refused`);
  return url;
}

/** A model repo's branches with their commits, in the order the Hub gives them. */
export async function listBranches(client: HubClient, repo: string): Promise<Array<{ name: string; commit: string }>> {
  const refs = parse(RefsSchema, (await client.getJson(`/api/models/${repo}/refs`)).json, `the refs of ${repo}`);
  return refs.branches.map((branch) => ({ name: branch.name, commit: branch.targetCommit }));
}

/** The URL of a file's bytes at a commit. */
export function resolveUrl(endpoint: string, repo: string, sha: string, file: string): string {
  const { api, name } = kindOf(repo);
  const encoded = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${api === 'datasets' ? 'datasets/' : ''}${name}/resolve/${sha}/${encoded}`;
}
