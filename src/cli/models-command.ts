/**
 * `resid-norms models`: the aliases --model accepts, grouped as the panels of the reference
 * comparison (OpenAI/Facebook, EleutherAI), with the facts people compare models by, and the
 * architectures any other repo or folder may have.
 */
import type { Command } from 'commander';
import type { CliIo, CommandDefinition } from './cli-io.js';
import { ARCHITECTURES } from '../architectures/registry.js';
import { aliasPanel, MODEL_ALIASES } from '../models/aliases.js';
import { formatTextTable, type TextColumn } from '../tables/text-table.js';

const COLUMNS: readonly TextColumn[] = [
  { title: 'alias' },
  { title: 'repo' },
  { title: 'family' },
  { title: 'layers', align: 'right' },
  { title: 'd_model', align: 'right' },
  { title: 'size', align: 'right' },
];

export function formatModelTable(): string {
  const panels = MODEL_ALIASES.map((m) => aliasPanel(m));
  const cells = MODEL_ALIASES.map((m) => [m.alias, m.repo, ARCHITECTURES[m.family]?.family ?? m.family, String(m.nLayers), String(m.dModel), m.size]);
  // One table cut into panels, so the columns line up across them.
  const [header = '', ...rows] = formatTextTable(COLUMNS, cells, { indent: '  ' });
  const lines: string[] = [];
  for (const panel of new Set(panels)) {
    if (lines.length > 0) lines.push('');
    lines.push(panel, header, ...rows.filter((_, index) => panels[index] === panel));
  }
  const adapters = Object.values(ARCHITECTURES);
  lines.push(
    '',
    'Supported architectures (config.json model_type):',
    ...formatTextTable([{ title: 'model_type' }, { title: 'family' }], adapters.map((adapter) => [adapter.name, adapter.family]), { indent: '  ', header: false }),
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
