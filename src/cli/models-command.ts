/** `resid-norms models`: the aliases --model accepts, with the facts people compare models by. */
import type { Command } from 'commander';
import { MODEL_ALIASES } from '../models/aliases.js';
import { supportedArchitectures } from '../architectures/registry.js';

export function formatModelTable(): string {
  const header = ['alias', 'repo', 'family', 'layers', 'd_model', 'size'];
  const rows = MODEL_ALIASES.map((m) => [m.alias, m.repo, m.family, String(m.nLayers), String(m.dModel), m.size]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const format = (row: string[]) => row.map((cell, column) => (column >= 3 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [format(header), ...rows.map(format), '', `Any Hub repo (owner/name[@revision]) or local folder of these architectures also works: ${supportedArchitectures().join(', ')}.`].join('\n') + '\n';
}

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list the model aliases and supported architectures')
    .action(() => {
      process.stdout.write(formatModelTable());
    });
}
