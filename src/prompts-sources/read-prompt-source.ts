/**
 * Read the prompts of any source into a PromptSet: text/JSONL files through
 * src/prompts-sources/prompt-file.ts, Parquet and CSV tables (local, or a Hub dataset's Parquet files in the
 * cache) through DuckDB. The hash in the set names exactly the prompts used: a whole file's
 * sha256 as before, or, once rows are chosen (tables, --limit, --sample), the hash of the
 * chosen texts (./prompt-selection.ts).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reporter } from '../messages/reporter.js';
import { InputError, UsageError, quote } from '../errors.js';
import { readHubSettings } from '../models/hub/hub-settings.js';
import { readPromptFile, type Prompt, type PromptSet } from './prompt-file.js';
import { checkUtf8File } from './utf8-file.js';
import { DEFAULT_PROMPTS } from '../package-paths.js';
import type { TextTableFormat } from './prompt-tables.js';
import { describeSelection, hashPrompts, isSelecting, MAX_UNSELECTED_ROWS, selectedRows } from './prompt-selection.js';
import { DATASET_SCHEME, DEFAULT_TEXT_COLUMN, checkReadOptions, parsePromptSource, type PromptReadOptions, type PromptSource } from './prompt-source.js';

export interface ReadSourceContext {
  reporter: Reporter;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export async function readPromptSource(source: PromptSource, options: PromptReadOptions, context: ReadSourceContext): Promise<PromptSet> {
  checkReadOptions(source, options);
  if (source.kind === 'file') return selectFromFile(await readPromptFile(source.path), options);
  if (source.kind === 'table') {
    const info = await stat(source.path).catch(() => undefined);
    if (info === undefined) throw new InputError(`cannot read prompt table ${quote(source.path)} (no such file); give a .parquet or .csv file`);
    if (!info.isFile()) throw new InputError(`cannot read prompt table ${quote(source.path)} (it is not a regular file); give a .parquet or .csv file`);
    if (source.format === 'csv') await checkUtf8File(source.path, 'prompt table'); // DuckDB would name a line, not the encoding
    return readTable([source.path], source.format, source.path, options, context.reporter);
  }
  const settings = readHubSettings(context.env);
  const { fetchDatasetFiles } = await import('../models/hub/hub-dataset.js'); // the Hub client loads only for a Hub dataset
  const dataset = await fetchDatasetFiles(
    { repo: source.repo, revision: source.revision, ...(source.path !== undefined ? { path: source.path } : {}) },
    { settings, reporter: context.reporter, ...(context.signal ? { signal: context.signal } : {}) },
  );
  if (!dataset.fromCache)
    context.reporter.info(
      `downloaded dataset ${source.repo}@${dataset.sha.slice(0, 10)} (${dataset.files.length} Parquet file${dataset.files.length === 1 ? '' : 's'}) into ${settings.cacheDir}`,
    );
  const name = `${DATASET_SCHEME}${source.repo}@${dataset.sha}${source.path ? `/${source.path}` : ''}`;
  return readTable(
    dataset.files.map((file) => join(dataset.dir, file)),
    'parquet',
    name,
    options,
    context.reporter,
  );
}

/** --limit / --sample over the prompts of a text or JSONL file; without them, the file as it is. */
function selectFromFile(set: PromptSet, options: PromptReadOptions): PromptSet {
  if (!isSelecting(options.selection)) return set;
  const rows = selectedRows(set.prompts.length, options.selection)!;
  checkSample(set.prompts.length, options, set.source);
  const prompts = rows.map((row) => set.prompts[row]!);
  return { source: `${set.source} (${describeSelection(set.prompts.length, options.selection)})`, sha256: hashPrompts(prompts), prompts };
}

function checkSample(available: number, options: PromptReadOptions, what: string): void {
  const { selection } = options;
  const pool = Math.min(available, selection?.limit ?? available);
  if (selection?.sample !== undefined && selection.sample > pool) {
    throw new UsageError(
      `--sample ${selection.sample} is more than the ${pool} prompts of ${quote(what)}${selection.limit !== undefined ? ' within --limit' : ''}; valid: 1…${pool}`,
    );
  }
}

async function readTable(files: readonly string[], format: TextTableFormat, name: string, options: PromptReadOptions, reporter: Reporter): Promise<PromptSet> {
  const column = options.textColumn ?? DEFAULT_TEXT_COLUMN;
  // DuckDB (0.4 s of start-up) loads only for prompt tables, not for text and JSONL prompts.
  const { describeTextTable, readTextColumn, MAX_CELL_CHARS } = await import('./prompt-tables.js');
  const { columns, rows } = await describeTextTable(files, format);
  const found = columns.find((entry) => entry.name === column);
  if (found === undefined) {
    const names = columns.map((entry) => entry.name);
    throw new UsageError(
      `--text-column ${quote(column)}: ${quote(name)} has no such column; its columns: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}`,
    );
  }
  if (format === 'parquet' && found.type !== 'VARCHAR') {
    throw new UsageError(
      `--text-column ${quote(column)} of ${quote(name)} holds ${found.type}, not text; give a string column (${
        columns
          .filter((entry) => entry.type === 'VARCHAR')
          .map((entry) => entry.name)
          .join(', ') || 'there is none'
      })`,
    );
  }
  if (rows === 0) throw new InputError(`${quote(name)} has no rows; give a table with prompts`);
  if (rows > MAX_UNSELECTED_ROWS && !isSelecting(options.selection)) {
    throw new UsageError(
      `${quote(name)} has ${rows} rows, more than ${MAX_UNSELECTED_ROWS} prompts held at once; give --limit N or --sample N (1…${MAX_UNSELECTED_ROWS})`,
    );
  }
  checkSample(rows, options, name);
  const chosen = selectedRows(rows, options.selection);
  const prompts: Prompt[] = [];
  let blank = 0;
  let next = 0; // index into `chosen`
  const last = chosen === undefined ? undefined : (chosen[chosen.length - 1] ?? -1) + 1;
  let cut = 0;
  for await (const { row, text, cut: wasCut } of readTextColumn(files, format, column, last)) {
    if (chosen !== undefined) {
      if (chosen[next] !== row) continue;
      next += 1;
    }
    if (wasCut) cut += 1;
    if (text === null || text.trim() === '') blank += 1;
    else prompts.push({ line: row + 1, text });
  }
  if (cut > 0)
    reporter.warn(
      `${cut} row${cut === 1 ? '' : 's'} of ${quote(name)} longer than ${MAX_CELL_CHARS} characters cut to that (${MAX_CELL_CHARS / 16} tokens' worth at 16 characters per token)`,
    );
  if (blank > 0) reporter.warn(`${blank} row${blank === 1 ? '' : 's'} of ${quote(name)} with an empty or null ${quote(column)} left out`);
  if (prompts.length === 0) throw new InputError(`${quote(name)} has no non-empty ${quote(column)} in the rows chosen; give another column or rows`);
  const selection = describeSelection(rows, options.selection);
  const source = `${name} (column ${quote(column)}, ${selection ?? `all ${rows} rows`}${blank > 0 ? `, ${blank} empty left out` : ''})`;
  return { source, sha256: hashPrompts(prompts), prompts };
}

/**
 * What every command that runs prompts (measure, sweep, mechanisms) asks of its prompts: the one
 * reader of the --prompts source (text, JSONL, .parquet, .csv, hf://datasets/…) with the same
 * --text-column, --limit, --sample and --seed, and the same errors. The first phase of a
 * command's preparation: read and checked before any model is downloaded.
 */
export interface PromptRequest {
  /** --prompts: a file, a table or a Hub dataset; the built-in prompts when absent. */
  promptsPath?: string;
  promptOptions?: PromptReadOptions;
  /** Prompts read already (a sweep reads them once for all its members). */
  promptSet?: PromptSet;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** The local file the prompts are read from, for the check that no output replaces it (a Hub dataset lives in the cache: none). */
export function promptInputs(request: Pick<PromptRequest, 'promptsPath'>): Array<{ path: string; what: string }> {
  if (request.promptsPath === undefined) return [{ path: DEFAULT_PROMPTS, what: 'the prompt file' }];
  const source = parsePromptSource(request.promptsPath);
  if (source.kind === 'file') return [{ path: source.path, what: 'the prompt file' }];
  if (source.kind === 'table') return [{ path: source.path, what: 'the prompt table' }];
  return [];
}

/** The prompts of a request: given already read, from --prompts, or the built-in set. */
export async function readRequestedPrompts(request: PromptRequest, reporter: Reporter): Promise<PromptSet> {
  if (request.promptSet !== undefined) return { ...request.promptSet }; // a copy: measure drops its prompts once tokenized
  const context = { reporter, ...(request.env ? { env: request.env } : {}), ...(request.signal ? { signal: request.signal } : {}) };
  const options = request.promptOptions ?? {};
  if (request.promptsPath === undefined) return selectFromFile(await readPromptFile(DEFAULT_PROMPTS, 'default.txt (built in)'), options);
  return readPromptSource(parsePromptSource(request.promptsPath), options, context);
}
