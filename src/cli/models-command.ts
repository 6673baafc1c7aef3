/**
 * `resid-norms models`: the aliases --model accepts — the embedded demo model, then the models of
 * the reference comparison grouped as its panels (OpenAI/Facebook, EleutherAI) — with the facts
 * people compare models by and what each would download, and the architectures any other repo or
 * folder may have.
 */
import type { Command } from 'commander';
import { relative } from 'node:path';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { ARCHITECTURES } from '../architectures/registry.js';
import { aliasPanel, EMBEDDED_MODELS, MODEL_ALIASES } from '../models/aliases.js';
import { PACKAGE_ROOT } from '../package-paths.js';
import { formatTextTable, type TextColumn } from '../text-tables/text-table.js';
import type { DownloadSizes } from '../commands/models.js';

const COLUMNS: readonly TextColumn[] = [
  { title: 'alias' },
  { title: 'repo' },
  { title: 'family' },
  { title: 'layers', align: 'right' },
  { title: 'd_model', align: 'right' },
  { title: 'size', align: 'right' },
  { title: 'download', align: 'right' },
];

const EMBEDDED_PANEL = 'Embedded (in the package, no download)';

export function formatModelTable(sizes: DownloadSizes, formatBytes: (bytes: number) => string): string {
  const family = (name: string) => ARCHITECTURES[name]?.family ?? name;
  const rows = [
    ...EMBEDDED_MODELS.map((m) => ({
      panel: EMBEDDED_PANEL,
      cells: [m.alias, `${relative(PACKAGE_ROOT, m.dir)}/`, family(m.family), String(m.nLayers), String(m.dModel), m.size, 'none'],
    })),
    ...MODEL_ALIASES.map((m) => {
      const bytes = sizes.bytes.get(m.repo);
      return {
        panel: aliasPanel(m),
        cells: [m.alias, m.repo, family(m.family), String(m.nLayers), String(m.dModel), m.size, bytes === undefined ? 'unknown' : formatBytes(bytes)],
      };
    }),
  ];
  // One table cut into panels, so the columns line up across them.
  const [header = '', ...lines] = formatTextTable(
    COLUMNS,
    rows.map((row) => row.cells),
    { indent: '  ' },
  );
  const out: string[] = [];
  for (const panel of new Set(rows.map((row) => row.panel))) {
    if (out.length > 0) out.push('');
    out.push(panel, header, ...lines.filter((_, index) => rows[index]!.panel === panel));
  }
  const adapters = Object.values(ARCHITECTURES);
  out.push(
    '',
    sizes.unknownBecause === undefined
      ? 'download: config, tokenizer and safetensors weights of the main revision, as the Hub lists them.'
      : `download: config, tokenizer and safetensors weights of the main revision; unknown: ${sizes.unknownBecause}.`,
    '',
    'Supported architectures (config.json model_type):',
    ...formatTextTable(
      [{ title: 'model_type' }, { title: 'family' }],
      adapters.map((adapter) => [adapter.name, adapter.family]),
      { indent: '  ', header: false },
    ),
    '',
    'Aliases are case-insensitive. Any Hub repo (owner/name[@revision]) or local folder of these architectures also works.',
  );
  return `${out.join('\n')}\n`;
}

export const modelsCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  return command.action(async (_flags: unknown, self: Command) => {
    const { reporter } = commandContext(self, io);
    const { lookUpDownloadSizes, formatBytes } = await import('../commands/models.js');
    io.stdout.write(formatModelTable(await lookUpDownloadSizes(io.env, reporter), formatBytes));
  });
}
