/**
 * `--prompts` → where prompts come from: a text or JSONL file, a local Parquet or CSV table, or a
 * dataset repo on the Hub, named as huggingface_hub's HfFileSystem names it:
 *   hf://datasets/<owner>/<name>[@<revision>][/<path or glob>]
 * (a revision with slashes is written %2F-encoded: @refs%2Fconvert%2Fparquet). Parsing is pure
 * and checks the syntax only, so a bad value is refused before any download.
 */
import { extname } from 'node:path';
import { UsageError, quote } from '../errors.js';
import { revisionProblem } from '../models/resolve-model.js';
import type { TextTableFormat } from './prompt-tables.js';
import type { PromptSelection } from './prompt-selection.js';

export type PromptSource =
  | { kind: 'file'; path: string }
  | { kind: 'table'; path: string; format: TextTableFormat }
  | { kind: 'dataset'; repo: string; revision: string; path?: string };

/** What is read of a source besides its place: the text column of tables, and which rows. */
export interface PromptReadOptions {
  /** Column of Parquet/CSV/dataset prompts (default "text"). */
  textColumn?: string;
  selection?: PromptSelection;
}

export const DATASET_SCHEME = 'hf://datasets/';
export const DEFAULT_TEXT_COLUMN = 'text';
const NAME = /^[A-Za-z0-9][\w.-]{0,95}$/;
const EXAMPLE = 'e.g. hf://datasets/NeelNanda/pile-10k or hf://datasets/owner/name@main/data/train-*.parquet';

export function parsePromptSource(spec: string): PromptSource {
  if (spec.trim() === '')
    throw new UsageError('--prompts is empty; give a prompt file (.txt, .jsonl, .parquet, .csv) or a Hub dataset (hf://datasets/owner/name)');
  if (/^hf:\/\//i.test(spec)) return parseDataset(spec);
  const extension = extname(spec).toLowerCase();
  if (extension === '.parquet') return { kind: 'table', path: spec, format: 'parquet' };
  if (extension === '.csv') return { kind: 'table', path: spec, format: 'csv' };
  return { kind: 'file', path: spec };
}

function parseDataset(spec: string): PromptSource {
  const bad = (why: string) => new UsageError(`--prompts ${quote(spec)}: ${why}; ${EXAMPLE}`);
  if (!spec.startsWith(DATASET_SCHEME)) throw bad('Hub prompts come from dataset repos, written hf://datasets/<owner>/<name>[@revision][/path]');
  const rest = spec.slice(DATASET_SCHEME.length);
  const [owner = '', nameAndRevision = '', ...pathParts] = rest.split('/');
  const at = nameAndRevision.indexOf('@');
  const name = at < 0 ? nameAndRevision : nameAndRevision.slice(0, at);
  if (!NAME.test(owner) || !NAME.test(name) || `${owner}/${name}`.includes('..')) throw bad(`${quote(`${owner}/${name}`)} is not a dataset id like owner/name`);
  let revision = 'main';
  if (at >= 0) {
    revision = decodeURIComponent(nameAndRevision.slice(at + 1).replace(/%(?!2[Ff])/g, '%25'));
    const problem = revisionProblem(revision);
    if (problem !== undefined) throw bad(`revision ${quote(revision)} is not a valid revision (${problem})`);
  }
  const path = pathParts.join('/');
  if (path !== '') {
    if (pathParts.some((part) => part === '.' || part === '..') || /[\u0000-\u001f\\]/.test(path))
      throw bad(`path ${quote(path)} must stay inside the repo (no ".", ".." or backslash)`);
  }
  return { kind: 'dataset', repo: `${owner}/${name}`, revision, ...(path !== '' ? { path } : {}) };
}

/** The flags that only tables and datasets take, refused for text and JSONL files. */
export function checkReadOptions(source: PromptSource, options: PromptReadOptions): void {
  if (source.kind === 'file' && options.textColumn !== undefined) {
    throw new UsageError(
      `--text-column applies to .parquet, .csv and hf://datasets/ prompts, not to ${quote(source.path)} (text files hold one prompt per line; JSONL files a "text" or "ids" field)`,
    );
  }
}

/** How the source is named in results (before reading: the revision as asked). */
export function describeSource(source: PromptSource): string {
  if (source.kind !== 'dataset') return source.path;
  return `${DATASET_SCHEME}${source.repo}@${source.revision}${source.path ? `/${source.path}` : ''}`;
}
