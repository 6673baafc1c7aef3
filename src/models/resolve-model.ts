/**
 * `--model` → a folder on disk holding config.json, tokenizer files and the weights
 * (safetensors, or PyTorch checkpoints read without running them).
 * Accepted: an alias (gpt2-xl), a Hub repo id with optional revision (owner/name@rev), or a
 * local folder. Hub models come from (or go into) the shared Hugging Face cache.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Reporter } from '../messages/reporter.js';
import { UsageError, quote } from '../errors.js';
import { EMBEDDED_MODELS, findAlias, findEmbeddedModel, suggestAliases } from './aliases.js';
import type { ListingCache } from './hub/listing-cache.js';
import { readHubSettings } from './hub/hub-settings.js';

export type ModelSource = { kind: 'local'; dir: string; id: string } | { kind: 'hub'; repo: string; revision: string; id: string };

export interface ResolvedModel {
  dir: string;
  /** How results name the model: the alias, repo id or folder name. */
  id: string;
  /** Commit sha for Hub models, null for local folders. */
  revision: string | null;
  /** A file-name-safe name for default output paths. */
  slug: string;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;
/** One name of a revision (branch, tag, sha; `refs/pr/1` has three): no leading dot or dash, no "..", no ".lock" end. */
const REVISION_PART = /^[A-Za-z0-9_][\w.+-]{0,99}$/;

/**
 * Why `revision` is not a safe git revision name, or undefined when it is. Revisions become
 * paths in the cache (refs/<revision>), so they are held to git's rules for ref names, as
 * strictly as repo ids: names of letters, digits and . _ - + joined by single slashes; no ".",
 * "..", leading dot or dash, ".lock" end, control characters or spaces.
 */
export function revisionProblem(revision: string): string | undefined {
  if (revision === '') return 'it is empty';
  if (revision.length > 200) return 'it is longer than 200 characters';
  if (/[\u0000-\u001f\u007f]/.test(revision)) return 'it holds a control character';
  const parts = revision.split('/');
  if (parts.some((part) => part === '.' || part === '..' || part.includes('..'))) return 'it holds "." or ".." (a path out of the cache)';
  if (parts.some((part) => part === '')) return 'it has an empty name (a leading, trailing or double slash)';
  if (parts.some((part) => !REVISION_PART.test(part) || part.endsWith('.lock') || part.endsWith('.'))) {
    return 'its names may only hold letters, digits and . _ - + and may not start with "." or "-" or end with "." or ".lock"';
  }
  return undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Anything on disk that is not a folder (a file, a FIFO…). */
async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => !s.isDirectory(),
    () => false,
  );
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('~') || spec.includes('\\');
}

export async function parseModelSpec(spec: string): Promise<ModelSource> {
  const trimmed = spec.trim();
  if (trimmed === '') throw new UsageError('--model is empty; give an alias (gpt2-xl), a Hub repo (owner/name[@revision]) or a local folder');
  const embedded = findEmbeddedModel(trimmed.replace(/@.*$/, ''));
  if (embedded) {
    if (trimmed.includes('@'))
      throw new UsageError(`--model ${quote(spec)}: ${embedded.alias} is embedded in the package and has no revisions; give --model ${embedded.alias}`);
    return { kind: 'local', dir: embedded.dir, id: embedded.alias };
  }
  const alias = findAlias(trimmed);
  if (alias) return { kind: 'hub', repo: alias.repo, revision: 'main', id: alias.alias };
  const aliasAt = trimmed.indexOf('@');
  const aliased = aliasAt > 0 ? findAlias(trimmed.slice(0, aliasAt)) : undefined;
  if (aliased) {
    // An alias with a revision: pythia-160m@step1000 is EleutherAI/pythia-160m at step1000.
    const revision = trimmed.slice(aliasAt + 1);
    const problem = revisionProblem(revision);
    if (problem !== undefined)
      throw new UsageError(
        `--model ${quote(spec)}: revision ${quote(revision)} is not a valid revision (${problem}); give a branch, tag or commit sha, e.g. ${aliased.alias}@main`,
      );
    return { kind: 'hub', repo: aliased.repo, revision, id: `${aliased.alias}@${revision}` };
  }
  if (await isDirectory(trimmed)) return { kind: 'local', dir: resolve(trimmed), id: basename(resolve(trimmed)) };
  if (await isFile(trimmed)) {
    throw new UsageError(
      `--model ${quote(spec)} is a file, not a model folder; give the folder that holds config.json, the weights (model.safetensors or pytorch_model.bin) and tokenizer.json (e.g. ${quote(dirname(trimmed))})`,
    );
  }
  if (looksLikePath(trimmed)) throw new UsageError(`--model ${quote(spec)}: no such folder`);
  const at = trimmed.indexOf('@');
  const repo = at < 0 ? trimmed : trimmed.slice(0, at);
  const revision = at < 0 ? undefined : trimmed.slice(at + 1);
  if (REPO_ID.test(repo) && !repo.includes('..')) {
    const problem = revision === undefined ? undefined : revisionProblem(revision);
    if (problem !== undefined) {
      throw new UsageError(
        `--model ${quote(spec)}: revision ${quote(revision)} is not a valid revision (${problem}); give a branch, tag or commit sha, e.g. owner/name@main`,
      );
    }
    return { kind: 'hub', repo, revision: revision ?? 'main', id: trimmed };
  }
  if (!trimmed.includes('/')) {
    throw new UsageError(
      `unknown model ${quote(spec)}; did you mean ${suggestAliases(trimmed).join(', ')}? (or give owner/name for any Hub repo; \`resid-norms models\` lists the aliases)`,
    );
  }
  throw new UsageError(`--model ${quote(spec)} is neither a folder nor a Hub repo id like owner/name[@revision]`);
}

export function modelSlug(id: string): string {
  return id
    .replace(/@/g, '-')
    .replace(/\//g, '--')
    .replace(/[^\w.-]/g, '_');
}

export interface ResolveOptions {
  reporter: Reporter;
  refresh?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Stops a download at once (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Checks to run on config.json and the tokenizer before the weights are downloaded (src/models/hub/hub-download.ts). */
  checkBeforeWeights?: (dir: string) => Promise<void>;
  /** Hub listings the command made already (a sweep's), used instead of asking the Hub again. */
  hubListings?: ListingCache;
}

export async function resolveModel(spec: string, options: ResolveOptions): Promise<ResolvedModel> {
  const source = await parseModelSpec(spec);
  if (source.kind === 'local') {
    return { dir: source.dir, id: source.id, revision: null, slug: modelSlug(source.id) };
  }
  const settings = readHubSettings(options.env);
  const request = {
    repo: source.repo,
    revision: source.revision,
    refresh: options.refresh ?? false,
    ...(options.checkBeforeWeights ? { checkBeforeWeights: options.checkBeforeWeights } : {}),
  };
  // The Hub client (and its WebAssembly hashers) loads only when a model comes from the Hub.
  const { fetchSnapshot } = await import('./hub/hub-download.js');
  const snapshot = await fetchSnapshot(request, {
    settings,
    reporter: options.reporter,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.hubListings ? { listings: options.hubListings } : {}),
  });
  if (!snapshot.fromCache) options.reporter.info(`downloaded ${source.repo}@${snapshot.sha.slice(0, 10)} into ${settings.cacheDir}`);
  return { dir: snapshot.dir, id: source.id, revision: snapshot.sha, slug: modelSlug(source.id) };
}

/** What a command asks for: `--model` (absent: the demo model), `--refresh`, and where to look. */
export interface RequestedModel {
  model?: string;
  refresh: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  checkBeforeWeights?: (dir: string) => Promise<void>;
  hubListings?: ListingCache;
}

/** `--model`, or the embedded demo model when absent; the same for every command that reads a model. */
export async function resolveRequestedModel(request: RequestedModel, reporter: Reporter): Promise<ResolvedModel> {
  if (request.model !== undefined) {
    const { env, signal, checkBeforeWeights, hubListings } = request;
    return resolveModel(request.model, {
      reporter,
      refresh: request.refresh,
      ...(env ? { env } : {}),
      ...(signal ? { signal } : {}),
      ...(checkBeforeWeights ? { checkBeforeWeights } : {}),
      ...(hubListings ? { hubListings } : {}),
    });
  }
  const demo = EMBEDDED_MODELS[0]!;
  if (!existsSync(join(demo.dir, 'config.json'))) {
    throw new UsageError('no --model given and the embedded demo model is missing from this installation; pass --model (e.g. gpt2)');
  }
  reporter.info(`no --model given: using the embedded demo model (${demo.alias}, ${demo.description})`);
  return { dir: demo.dir, id: demo.alias, revision: null, slug: demo.alias };
}
