/**
 * Read and validate a fit file written by `resid-norms fit --out`, for `plot` and `report`.
 * Same order of checks as results files: not JSON, not a fit file, unknown version, schema.
 */
import { parseJsonText, readDocument, validateDocument, type DocumentKind } from './read-json.js';
import { FIT_FORMAT, FIT_VERSION, FitFileSchema, type FitFile } from './fit-schema.js';

const PRODUCER = '`resid-norms fit --out`';

const FIT_KIND: DocumentKind<FitFile> = { label: 'fit', producer: PRODUCER, format: FIT_FORMAT, version: FIT_VERSION, schema: FitFileSchema };

export function readFit(path: string): Promise<FitFile> {
  return readDocument(path, FIT_KIND);
}

export function parseFit(text: string, path: string): FitFile {
  return validateDocument(parseJsonText(text, path, 'fit file', PRODUCER), path, FIT_KIND);
}
