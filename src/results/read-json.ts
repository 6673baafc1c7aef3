/**
 * Reading the JSON documents resid-norms writes (results, weights and fit files), with one-line
 * messages in the order a person wants to hear about problems: unreadable, not JSON, not this
 * kind of document, an unknown version, the first schema violation (with its JSON path), then
 * whatever the schema cannot express.
 */
import type { z } from 'zod';
import { InputError, quote } from '../errors.js';
import { describeReadFailure, readRegularFile } from '../io/read-regular-file.js';
import { describeFirstIssue } from './schema-issues.js';
import { JsonTooDeepError, parseJson } from '../io/json-text.js';

export interface DocumentKind<T> {
  /** Names the kind in messages: "results" → "results file", "results version". */
  label: string;
  /** The command that writes it, e.g. "`resid-norms measure`". */
  producer: string;
  format: string;
  version: number;
  /** Versions this resid-norms reads, for the message about an unknown one; default `version`. */
  supported?: string;
  schema: z.ZodType<T>;
  /** Checks the schema cannot express; throws InputError. */
  check?: (document: T, path: string) => void;
}

/** The text of a file, or an InputError saying why it cannot be read. */
export async function readDocumentText(path: string, what: string, producer: string): Promise<string> {
  try {
    return (await readRegularFile(path)).toString('utf8'); // a FIFO is refused, not waited on
  } catch (error) {
    throw new InputError(`cannot read ${what} ${quote(path)}: ${describeReadFailure(error)}; give a JSON file written by ${producer}`);
  }
}

export function parseJsonText(text: string, path: string, what: string, producer: string): unknown {
  try {
    return parseJson(text);
  } catch (error) {
    if (error instanceof JsonTooDeepError) throw new InputError(`${quote(path)} is not a ${what}: ${error.message}; give a ${what} written by ${producer}`);
    throw new InputError(`${quote(path)} is not JSON; give a ${what} written by ${producer}`);
  }
}

/**
 * @param what what the file should be, e.g. "weights file"
 * @param producer the command that writes it, e.g. "`resid-norms weights`"
 */
export async function readJsonDocument(path: string, what: string, producer: string): Promise<unknown> {
  return parseJsonText(await readDocumentText(path, what, producer), path, what, producer);
}

/** The `format` field of a parsed document, described for messages. */
export function describeFormat(data: unknown): { format: unknown; found: string } {
  const format = typeof data === 'object' && data !== null ? (data as Record<string, unknown>).format : undefined;
  return { format, found: format === undefined ? 'no "format" field' : `format ${quote(format)}` };
}

/** Validate parsed JSON as a document of the given kind. */
export function validateDocument<T>(data: unknown, path: string, kind: DocumentKind<T>): T {
  const { format, found } = describeFormat(data);
  if (format !== kind.format) {
    throw new InputError(`${quote(path)} is not a resid-norms ${kind.label} file (${found}; expected format "${kind.format}")`);
  }
  const { version } = data as { version?: unknown };
  if (version !== kind.version) {
    throw new InputError(
      `${quote(path)} has ${kind.label} version ${quote(version)}, which this resid-norms does not know; supported: ${kind.supported ?? kind.version}`,
    );
  }
  const parsed = kind.schema.safeParse(data);
  if (!parsed.success) throw new InputError(`${quote(path)} is not a valid ${kind.label} file: ${describeFirstIssue(parsed.error)}`);
  kind.check?.(parsed.data, path);
  return parsed.data;
}

/** Read, parse and validate a document of the given kind. */
export async function readDocument<T>(path: string, kind: DocumentKind<T>): Promise<T> {
  const what = `${kind.label} file`;
  return validateDocument(await readJsonDocument(path, what, kind.producer), path, kind);
}
