/** Read a JSON document a resid-norms command wrote, with one-line messages for the ways that fails. */
import { readFile } from 'node:fs/promises';
import { InputError, quote } from '../errors.js';

/**
 * @param what what the file should be, e.g. "weights file"
 * @param producer the command that writes it, e.g. "`resid-norms weights`"
 */
export async function readJsonDocument(path: string, what: string, producer: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? 'unreadable');
    throw new InputError(`cannot read ${what} ${quote(path)}: ${why}; give a JSON file written by ${producer}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InputError(`${quote(path)} is not JSON; give a ${what} written by ${producer}`);
  }
}

/** The `format` field of a parsed document, described for messages. */
export function describeFormat(data: unknown): { format: unknown; found: string } {
  const format = typeof data === 'object' && data !== null ? (data as Record<string, unknown>).format : undefined;
  return { format, found: format === undefined ? 'no "format" field' : `format ${quote(format)}` };
}
