/**
 * What the fake Hub's API answers are made of: the repos and revisions it serves, a revision's
 * info (every default field, or with `expand` only those named; `blobs=true` adds each sibling's
 * size, git oid and LFS sha256), file entries as tree and paths-info give them (git oid of what
 * git stores: the LFS pointer for large files; lfs{oid,size}; xetHash for Xet-stored files;
 * lastCommit with expand), and tree pages.
 */
import { createHash } from 'node:crypto';
import { gitOid, isLfsPath, sha256 } from './fake-hub-serve.js';

export interface FakeRepo {
  sha: string;
  files: Map<string, Buffer>;
  /** Gated: `resolve` needs one of these tokens (401 without a token, 403 with another). */
  gatedTokens?: string[];
  /** Private: seen only with one of these tokens (otherwise 401 without a token, 404 with one). */
  privateTokens?: string[];
  /** Branch names that resolve to `sha` (main always does). */
  branches?: string[];
  /** Other revisions (e.g. Pythia's step1000): name → its own commit and files; the name or the sha resolves to them. */
  revisions?: Record<string, FakeSnapshot>;
  /** How large files are stored: Xet (the default, as on the Hub since 2025) or classic LFS. */
  storage?: 'xet' | 'lfs';
}

export interface FakeSnapshot {
  sha: string;
  files: Map<string, Buffer>;
}

/** A revision found: the repo, its name, the snapshot the revision names, and the revision as asked. */
export interface Found {
  repo: FakeRepo;
  name: string;
  snapshot: FakeSnapshot;
  branch: string;
}

/** A Xet content hash stand-in (the real one is a Merkle hash of the file's chunks). */
export function xetHash(bytes: Buffer): string {
  return createHash('sha256').update('xet').update(bytes).digest('hex');
}

/** The bytes git stores for a file: an LFS pointer for LFS files, else the file. */
export function storedBytes(path: string, bytes: Buffer): Buffer {
  if (!isLfsPath(path)) return bytes;
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.length}\n`);
}

/** A model or dataset's info: every default field, or with `expand` only those named. */
export function infoOf(found: Found, params: URLSearchParams): Record<string, unknown> {
  const blobs = params.get('blobs') === 'true';
  const siblings = [...found.snapshot.files].map(([rfilename, bytes]) =>
    blobs
      ? {
          rfilename,
          blobId: gitOid(storedBytes(rfilename, bytes)),
          size: bytes.length,
          ...(isLfsPath(rfilename) ? { lfs: { sha256: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}),
        }
      : { rfilename },
  );
  const all: Record<string, unknown> = {
    author: found.name.split('/')[0],
    sha: found.snapshot.sha,
    lastModified: '2024-01-01T00:00:00.000Z',
    private: found.repo.privateTokens !== undefined,
    gated: found.repo.gatedTokens ? 'manual' : false,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: [],
    createdAt: '2023-01-01T00:00:00.000Z',
    siblings,
    spaces: [],
  };
  const expand = params.getAll('expand');
  const kept = expand.length === 0 ? all : Object.fromEntries(expand.filter((key) => key in all).map((key) => [key, all[key]]));
  return { _id: `id-${found.name}`, id: found.name, ...kept };
}

export function entryOf(found: Found, path: string, bytes: Buffer, expand: boolean): Record<string, unknown> {
  const lfs = isLfsPath(path);
  return {
    type: 'file',
    oid: gitOid(storedBytes(path, bytes)),
    size: bytes.length,
    path,
    ...(lfs ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}),
    ...(lfs && (found.repo.storage ?? 'xet') === 'xet' ? { xetHash: xetHash(bytes) } : {}),
    ...(expand ? { lastCommit: { id: found.snapshot.sha, title: 'Upload', date: '2024-01-01T00:00:00.000Z' }, securityFileStatus: { status: 'safe' } } : {}),
  };
}

/**
 * Tree listings of large snapshots (over 10,000 files), by snapshot and query: built once, not
 * once per page. Small ones are built every time, so a test may change a snapshot's files.
 */
const listed = new WeakMap<Map<string, Buffer>, Map<string, Array<Record<string, unknown>>>>();

/** One page of a tree listing (`cursor` in the URL, `pageSize` entries) and the next page's URL; undefined for a folder the revision lacks. */
export function treePage(found: Found, under: string, url: URL, pageSize: number): { entries: Array<Record<string, unknown>>; next?: string } | undefined {
  const prefix = under === '' ? '' : `${under.replace(/\/+$/, '')}/`;
  const recursive = url.searchParams.get('recursive') === 'true';
  const expand = url.searchParams.get('expand') === 'true';
  const key = `${prefix}\n${recursive}\n${expand}\n${found.repo.storage}`;
  const byQuery = listed.get(found.snapshot.files) ?? new Map<string, Array<Record<string, unknown>>>();
  listed.set(found.snapshot.files, byQuery);
  const entries = byQuery.get(key) ?? listTree(found, prefix, recursive, expand);
  if (found.snapshot.files.size > 10_000) byQuery.set(key, entries);
  if (prefix !== '' && entries.length === 0) return undefined;
  const cursor = Number(url.searchParams.get('cursor') ?? 0);
  if (cursor + pageSize >= entries.length) return { entries: entries.slice(cursor) };
  const next = new URL(url.href);
  next.searchParams.set('cursor', String(cursor + pageSize));
  return { entries: entries.slice(cursor, cursor + pageSize), next: next.href };
}

function listTree(found: Found, prefix: string, recursive: boolean, expand: boolean): Array<Record<string, unknown>> {
  const entries: Array<Record<string, unknown>> = [];
  const folders = new Set<string>();
  for (const [file, bytes] of [...found.snapshot.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!file.startsWith(prefix)) continue;
    const rest = file.slice(prefix.length).split('/');
    for (let depth = 1; depth < rest.length && (recursive || depth === 1); depth += 1) {
      const folder = prefix + rest.slice(0, depth).join('/');
      if (!folders.has(folder)) entries.push({ type: 'directory', oid: gitOid(Buffer.from(folder)), size: 0, path: folder });
      folders.add(folder);
    }
    if (rest.length === 1 || recursive) entries.push(entryOf(found, file, bytes, expand));
  }
  return entries;
}
