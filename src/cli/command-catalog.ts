/**
 * Every command, by name: its one-line summary and help term (what `--help` lists), and how to
 * load the file that defines its flags. Loading is deferred so a run loads one command only;
 * test/cli/program.test.ts checks each help term against the loaded definition.
 */
import type { CommandDefinition } from './cli-io.js';

export interface CommandEntry {
  name: string;
  /** Help term as commander prints it for the loaded command: name, [options], arguments. */
  term: string;
  summary: string;
  load(): Promise<CommandDefinition>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'measure',
    term: 'measure [options]',
    summary: 'run prompts through a model and save the norm of every token at every hook point',
    load: async () => (await import('./measure-command.js')).measureCommand,
  },
  {
    name: 'weights',
    term: 'weights [options]',
    summary: "norms of every layer's weights (W_OV per head, b_O, W_in, W_out …), read from the safetensors files without inference",
    load: async () => (await import('./weights-command.js')).weightsCommand,
  },
  {
    name: 'mechanisms',
    term: 'mechanisms [options]',
    summary: "why the norm grows: each layer's MLP and W_OV on normalised random inputs vs attn_out / mlp_out, and MLP activation rates on real, random and resampled inputs",
    load: async () => (await import('./mechanisms-command.js')).mechanismsCommand,
  },
  {
    name: 'merge',
    term: 'merge [options] <shards...>',
    summary: 'combine the shard files of `measure --shard i/n` into one results file',
    load: async () => (await import('./merge-command.js')).mergeCommand,
  },
  {
    name: 'sweep',
    term: 'sweep [options]',
    summary: 'measure one prompt set on many models or training checkpoints, then summarize growth across them (sweep.json + figures)',
    load: async () => (await import('./sweep-command.js')).sweepCommand,
  },
  {
    name: 'fit',
    term: 'fit [options] <results...>',
    summary: 'fit the exponential growth of norms over layers, from results files of measure or weights (never the model)',
    load: async () => (await import('./fit-command.js')).fitCommand,
  },
  {
    name: 'plot',
    term: 'plot [options] [results...]',
    summary: 'draw the figures of the reference analysis from results and weights files, as SVG (and PNG)',
    load: async () => (await import('./plot-command.js')).plotCommand,
  },
  {
    name: 'report',
    term: 'report [options] [results...]',
    summary: 'write a self-contained HTML report (every figure, fits, metadata) and a Markdown summary for CI',
    load: async () => (await import('./report-command.js')).reportCommand,
  },
  {
    name: 'models',
    term: 'models',
    summary: 'list the model aliases and supported architectures',
    load: async () => (await import('./models-command.js')).modelsCommand,
  },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((entry) => entry.name === name);
}
