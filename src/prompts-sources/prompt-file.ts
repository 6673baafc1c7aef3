/**
 * Prompt files: plain text (one prompt per line; blank lines and lines starting with `#` are
 * skipped) or JSON Lines (`.jsonl` / `.ndjson`: `{"text": "..."}` or `{"ids": [...]}` per line,
 * the latter for pre-tokenized input). The file's sha256 identifies the prompt set in results.
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { InputError, ProblemList, quote } from '../errors.js';
import { describeReadFailure, readRegularFile } from '../io/read-regular-file.js';

export interface Prompt {
  /** 1-based line in the prompt file, for messages. */
  line: number;
  text?: string;
  /** Pre-tokenized ids, used exactly as given (no BOS is added). */
  ids?: number[];
}

export interface PromptSet {
  source: string;
  sha256: string;
  prompts: Prompt[];
}

export function isJsonLines(path: string): boolean {
  return ['.jsonl', '.ndjson'].includes(extname(path).toLowerCase());
}

/**
 * The largest text or JSONL prompt file read (it is held whole, and a JavaScript string holds at
 * most 2^29 − 24 characters); larger prompt sets go in a Parquet table, read row by row.
 */
export const MAX_PROMPT_FILE_BYTES = 512 * 1024 * 1024;

export async function readPromptFile(path: string, source = path): Promise<PromptSet> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, MAX_PROMPT_FILE_BYTES);
  } catch (error) {
    throw new InputError(`cannot read prompt file ${quote(path)} (${describeReadFailure(error)}); give a text file with one prompt per line, or JSONL`);
  }
  const text = decodeUtf8(bytes, path);
  const prompts = isJsonLines(path) ? parseJsonLines(text, path) : parseTextLines(text);
  if (prompts.length === 0) {
    throw new InputError(`prompt file ${quote(path)} has no prompts; write one prompt per line (blank lines and lines starting with # are skipped)`);
  }
  return { source, sha256: createHash('sha256').update(bytes).digest('hex'), prompts };
}

const UTF8_BOM = '\uFEFF';

/**
 * The file's text: strict UTF-8 (invalid bytes are refused with their line, never turned into
 * U+FFFD silently), a leading byte-order mark dropped (it is not part of the first prompt).
 */
export function decodeUtf8(bytes: Buffer, path: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const line = firstInvalidLine(bytes);
    throw new InputError(`prompt file ${quote(path)} is not valid UTF-8 at line ${line}; save it as UTF-8`);
  }
  return text.startsWith(UTF8_BOM) ? text.slice(1) : text;
}

/** 1-based line of the first byte sequence that is not UTF-8. */
function firstInvalidLine(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(0x0a, start);
    try {
      decoder.decode(bytes.subarray(start, end < 0 ? bytes.length : end));
    } catch {
      return line;
    }
    if (end < 0) return line;
    start = end + 1;
    line += 1;
  }
}

export function parseTextLines(text: string): Prompt[] {
  const prompts: Prompt[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    prompts.push({ line: index + 1, text: line.replace(/\s+$/, '') });
  });
  return prompts;
}

export function parseJsonLines(text: string, path: string): Prompt[] {
  const prompts: Prompt[] = [];
  const problems = new ProblemList();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.add(`${where} is not JSON`);
      return;
    }
    const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    if (record && typeof record.text === 'string') {
      prompts.push({ line: index + 1, text: record.text });
    } else if (record && Array.isArray(record.ids) && record.ids.length > 0 && record.ids.every((id) => Number.isSafeInteger(id) && (id as number) >= 0)) {
      prompts.push({ line: index + 1, ids: record.ids as number[] });
    } else {
      problems.add(`${where} is ${quote(line, 40)}; expected {"text": "..."} or {"ids": [non-negative integers]}`);
    }
  });
  problems.throwIfAny((message) => new InputError(`prompt file ${quote(path)}: ${message}`));
  return prompts;
}
