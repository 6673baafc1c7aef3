/**
 * Read and validate a fit file written by `resid-norms fit --out`, for `plot` and `report`.
 * Same order of checks as results files: not JSON, not a fit file, unknown version, schema.
 */
import { readFile } from 'node:fs/promises';
import { InputError, quote } from '../errors.js';
import { FIT_FORMAT, FIT_VERSION, FitFileSchema, type FitFile } from './fit-schema.js';
import { describeFirstIssue } from './schema-issues.js';

export async function readFit(path: string): Promise<FitFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? 'unreadable');
    throw new InputError(`cannot read fit file ${quote(path)}: ${why}; give a JSON file written by \`resid-norms fit --out\``);
  }
  return parseFit(text, path);
}

export function parseFit(text: string, path: string): FitFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InputError(`${quote(path)} is not JSON; give a fit file written by \`resid-norms fit --out\``);
  }
  const record = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  if (record.format !== FIT_FORMAT) {
    const found = record.format === undefined ? 'no "format" field' : `format ${quote(record.format)}`;
    throw new InputError(`${quote(path)} is not a resid-norms fit file (${found}; expected format "${FIT_FORMAT}")`);
  }
  if (record.version !== FIT_VERSION) {
    throw new InputError(
      `${quote(path)} has fit version ${quote(record.version)}, which this resid-norms does not know; supported: ${FIT_VERSION}`,
    );
  }
  const parsed = FitFileSchema.safeParse(data);
  if (!parsed.success) throw new InputError(`${quote(path)} is not a valid fit file: ${describeFirstIssue(parsed.error)}`);
  return parsed.data;
}
