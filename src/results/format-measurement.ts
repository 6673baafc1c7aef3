/**
 * Serializes a results file: metadata pretty-printed, one summary row (one layer) per line, so
 * the file stays small and diffs well (GPT2-XL with every hook and both metrics: ~0.4 MB).
 */
import type { Measurement } from './schema.js';

function indent(text: string, spaces: number): string {
  return text.replace(/\n/g, `\n${' '.repeat(spaces)}`);
}

/** `{ "hook": [row, row …] }` with one row per line, at the given indentation. */
function formatSummary(summary: object, spaces: number): string {
  const pad = ' '.repeat(spaces);
  const hooks = Object.entries(summary).map(([hook, rows]) => {
    const lines = (rows as unknown[]).map((row) => `${pad}    ${JSON.stringify(row)}`);
    return `${pad}  ${JSON.stringify(hook)}: [\n${lines.join(',\n')}\n${pad}  ]`;
  });
  return hooks.length === 0 ? '{}' : `{\n${hooks.join(',\n')}\n${pad}}`;
}

export function formatMeasurement(measurement: Measurement): string {
  const entries = Object.entries(measurement).map(([key, value]) => {
    if (key === 'summary') return `  "summary": ${formatSummary(value as object, 2)}`;
    if (key === 'summaries') {
      const metrics = Object.entries(value as Record<string, object>).map(([metric, summary]) => `    ${JSON.stringify(metric)}: ${formatSummary(summary, 4)}`);
      return `  "summaries": {\n${metrics.join(',\n')}\n  }`;
    }
    return `  ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2), 2)}`;
  });
  return `{\n${entries.join(',\n')}\n}\n`;
}
