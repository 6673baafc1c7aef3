/**
 * Which of resid-norms's documents a JSON file is, from its `format` field alone: so a command
 * given `results/*.json` can take the files it reads and name the others it leaves (fits,
 * mechanisms files, sweep summaries, other JSON) instead of refusing the lot.
 */
import { readRegularFile } from '../io/read-regular-file.js';
import { FIT_FORMAT } from './fit-schema.js';
import { MECHANISMS_FORMAT } from './mechanisms-schema.js';
import { MEASUREMENT_FORMAT } from './schema.js';
import { SWEEP_FORMAT } from './sweep-schema.js';
import { WEIGHTS_FORMAT } from './weights-schema.js';

/**
 * `foreign`: JSON that is no resid-norms document (no "format" of ours: a package.json, a notebook's
 * output). `unknown`: unreadable, not JSON (a truncated results file), or a format of ours this
 * version does not know — left to the command's reader, which says what is wrong.
 */
export type DocumentKindName = 'measurement' | 'weights' | 'mechanisms' | 'fit' | 'sweep' | 'sweep-plan' | 'foreign' | 'unknown';

/** The sweep plan's format (src/sweep/sweep-plan.ts writes it; a layer above this one, so named here; a test keeps the two equal). */
export const SWEEP_PLAN_FORMAT_NAME = 'resid-norms/sweep-plan';

const KIND_BY_FORMAT: Record<string, DocumentKindName> = {
  [MEASUREMENT_FORMAT]: 'measurement',
  [WEIGHTS_FORMAT]: 'weights',
  [MECHANISMS_FORMAT]: 'mechanisms',
  [FIT_FORMAT]: 'fit',
  [SWEEP_FORMAT]: 'sweep',
  [SWEEP_PLAN_FORMAT_NAME]: 'sweep-plan',
};

/** How messages name each kind. */
export const KIND_NAMES: Record<DocumentKindName, string> = {
  measurement: 'a results file',
  weights: 'a weights file',
  mechanisms: 'a mechanisms file',
  fit: 'a fit file',
  sweep: 'a sweep summary',
  'sweep-plan': 'a sweep plan',
  foreign: 'JSON that resid-norms did not write',
  unknown: 'not readable as a resid-norms file',
};

/** Larger files (version-1 results held every value inline) are left to the command's reader. */
const MAX_PEEKED_BYTES = 64 * 1024 * 1024;

export async function peekDocumentKind(path: string): Promise<DocumentKindName> {
  try {
    const data = JSON.parse((await readRegularFile(path, MAX_PEEKED_BYTES)).toString('utf8')) as unknown;
    const format = typeof data === 'object' && data !== null ? (data as { format?: unknown }).format : undefined;
    if (typeof format === 'string' && format.startsWith('resid-norms/')) return KIND_BY_FORMAT[format] ?? 'unknown';
    return 'foreign';
  } catch {
    return 'unknown';
  }
}
