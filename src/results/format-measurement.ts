/**
 * Serializes the tool's JSON files (results, weights, mechanisms): laid out as
 * `JSON.stringify(…, null, 2)` would, except that the arrays of rows (one per layer) put each
 * row on one line, so the files stay small and diff well (GPT2-XL with every hook and both
 * metrics: ~0.4 MB).
 */
import type { Measurement } from './schema.js';

/** Where the arrays of rows are: a path of keys from the top, `*` standing for any key. */
export type RowPath = readonly string[];

function matches(path: readonly string[], pattern: RowPath): boolean {
  return path.length === pattern.length && pattern.every((key, index) => key === '*' || key === path[index]);
}

function formatValue(value: unknown, path: readonly string[], rowPaths: readonly RowPath[], pad: string): string {
  if (Array.isArray(value) && rowPaths.some((pattern) => matches(path, pattern))) {
    return value.length === 0 ? '[]' : `[\n${value.map((row) => `${pad}  ${JSON.stringify(row)}`).join(',\n')}\n${pad}]`;
  }
  const holdsRows = rowPaths.some((pattern) => pattern.length > path.length && matches(path, pattern.slice(0, path.length)));
  if (!holdsRows || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return JSON.stringify(value, null, 2).replace(/\n/g, `\n${pad}`);
  }
  const entries = Object.entries(value).filter(([, entry]) => entry !== undefined);
  if (entries.length === 0) return '{}';
  const lines = entries.map(([key, entry]) => `${pad}  ${JSON.stringify(key)}: ${formatValue(entry, [...path, key], rowPaths, `${pad}  `)}`);
  return `{\n${lines.join(',\n')}\n${pad}}`;
}

/** A JSON document whose arrays at `rowPaths` hold one row per line, with a final newline. */
export function formatRowsJson(document: object, rowPaths: readonly RowPath[]): string {
  return `${formatValue(document, [], rowPaths, '')}\n`;
}

/** A results file: its per-layer summaries one row per line. */
export function formatMeasurement(measurement: Measurement): string {
  return formatRowsJson(measurement, [
    ['summary', '*'],
    ['summaries', '*', '*'],
  ]);
}
