/**
 * `resid-norms models`: the aliases --model accepts, grouped as the panels of the reference
 * comparison (OpenAI/Facebook, EleutherAI), with the facts people compare models by, and the
 * architectures any other repo or folder may have.
 */
import type { Command } from 'commander';
import type { CliIo, CommandDefinition } from './cli-io.js';
import { ARCHITECTURES } from '../architectures/registry.js';
import { aliasPanel, MODEL_ALIASES } from '../models/aliases.js';

const HEADER = ['alias', 'repo', 'family', 'layers', 'd_model', 'size'];
/** Columns from here on are numbers, right-aligned. */
const FIRST_NUMERIC_COLUMN = 3;

export function formatModelTable(): string {
  const rows = MODEL_ALIASES.map((m) => ({
    panel: aliasPanel(m),
    cells: [m.alias, m.repo, ARCHITECTURES[m.family]?.family ?? m.family, String(m.nLayers), String(m.dModel), m.size],
  }));
  const widths = HEADER.map((title, column) => Math.max(title.length, ...rows.map((row) => row.cells[column]!.length)));
  const format = (cells: string[]) =>
    `  ${cells.map((cell, column) => (column >= FIRST_NUMERIC_COLUMN ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ')}`.trimEnd();
  const lines: string[] = [];
  for (const panel of new Set(rows.map((row) => row.panel))) {
    if (lines.length > 0) lines.push('');
    lines.push(panel, format(HEADER), ...rows.filter((row) => row.panel === panel).map((row) => format(row.cells)));
  }
  const adapters = Object.values(ARCHITECTURES);
  const nameWidth = Math.max(...adapters.map((adapter) => adapter.name.length));
  lines.push(
    '',
    'Supported architectures (config.json model_type):',
    ...adapters.map((adapter) => `  ${adapter.name.padEnd(nameWidth)}  ${adapter.family}`),
    '',
    'Aliases are case-insensitive. Any Hub repo (owner/name[@revision]) or local folder of these architectures also works.',
  );
  return `${lines.join('\n')}\n`;
}

export const modelsCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  return command
    .action(() => {
      io.stdout.write(formatModelTable());
    });
}
