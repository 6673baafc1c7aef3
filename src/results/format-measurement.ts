/**
 * Serializes a results file: metadata pretty-printed, one sequence and one hook summary per
 * line, so files stay readable and diff well without the size of fully indented arrays.
 */
import type { Measurement } from './schema.js';

function indent(text: string, spaces: number): string {
  return text.replace(/\n/g, `\n${' '.repeat(spaces)}`);
}

export function formatMeasurement(measurement: Measurement): string {
  const entries = Object.entries(measurement).map(([key, value]) => {
    if (key === 'sequences') {
      const lines = (value as unknown[]).map((sequence) => `    ${JSON.stringify(sequence)}`);
      return `  "sequences": [${lines.length ? `\n${lines.join(',\n')}\n  ` : ''}]`;
    }
    if (key === 'summary') {
      const lines = Object.entries(value as Record<string, unknown>).map(([hook, rows]) => `    ${JSON.stringify(hook)}: ${JSON.stringify(rows)}`);
      return `  "summary": {${lines.length ? `\n${lines.join(',\n')}\n  ` : ''}}`;
    }
    return `  ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2), 2)}`;
  });
  return `{\n${entries.join(',\n')}\n}\n`;
}
