/**
 * An npm registry stand-in on 127.0.0.1 for the install test: it serves the packages of
 * package-lock.json — their packuments made from the lock's entries (version, dependencies,
 * os/cpu, integrity) and their tarballs straight from the local npm cache, found by integrity —
 * and nothing else. `npm install` pointed at it installs as from the real registry, with the
 * network out of reach; a package missing from the cache (one `npm ci` never fetched) is a 404,
 * and `missingTarballs` names such packages beforehand so the test can say why it cannot run.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  engines?: Record<string, string>;
  bin?: Record<string, string>;
  hasInstallScript?: boolean;
  license?: string;
}

interface Version {
  entry: LockEntry;
  name: string;
}

/** The cache's content file of an integrity string (cacache's layout: content-v2/<algo>/<hex[0:2]>/<hex[2:4]>/<rest>). */
function contentPath(cache: string, integrity: string): string {
  const [algorithm, base64] = integrity.split(' ')[0]!.split(/-(.*)/s) as [string, string];
  const hex = Buffer.from(base64, 'base64').toString('hex');
  return join(cache, '_cacache', 'content-v2', algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

export function npmCacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', env }).trim();
}

export class FakeRegistry {
  private readonly packages = new Map<string, Map<string, Version>>();
  private server?: Server;
  readonly requests: string[] = [];
  url = '';

  constructor(
    lockfile: string,
    private readonly cache: string,
  ) {
    const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, LockEntry> };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.link || entry.version === undefined || entry.integrity === undefined) continue;
      const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const versions = this.packages.get(name) ?? new Map<string, Version>();
      versions.set(entry.version, { entry, name });
      this.packages.set(name, versions);
    }
  }

  /** Packages an install of the non-dev dependencies needs whose tarball the cache lacks (platform packages of other systems aside). */
  missingTarballs(): string[] {
    const missing: string[] = [];
    for (const [name, versions] of this.packages) {
      for (const { entry } of versions.values()) {
        if (entry.dev || entry.optional) continue;
        if (!existsSync(contentPath(this.cache, entry.integrity!))) missing.push(`${name}@${entry.version}`);
      }
    }
    return missing;
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://registry').pathname);
      this.requests.push(path);
      const tarball = /^\/-\/tarballs\/(.+)\/([^/]+)\.tgz$/.exec(path);
      if (tarball) {
        const version = this.packages.get(tarball[1]!)?.get(tarball[2]!);
        const file = version === undefined ? undefined : contentPath(this.cache, version.entry.integrity!);
        if (file === undefined || !existsSync(file)) {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        createReadStream(file).pipe(response);
        return;
      }
      const versions = this.packages.get(path.slice(1));
      if (versions === undefined) {
        response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"Not found"}');
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(this.packument(path.slice(1), versions)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** What the registry's packument holds for an install: each version's manifest fields and its dist. */
  private packument(name: string, versions: Map<string, Version>): unknown {
    const manifests = Object.fromEntries(
      [...versions].map(([version, { entry }]) => {
        const { dependencies, optionalDependencies, peerDependencies, peerDependenciesMeta, os, cpu, libc, engines, bin, hasInstallScript, license } = entry;
        const fields = { dependencies, optionalDependencies, peerDependencies, peerDependenciesMeta, os, cpu, libc, engines, bin, hasInstallScript, license };
        const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
        return [version, { name, version, ...defined, dist: { tarball: `${this.url}-/tarballs/${name}/${version}.tgz`, integrity: entry.integrity } }];
      }),
    );
    const latest = [...versions.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
    return { name, 'dist-tags': { latest }, versions: manifests };
  }
}
