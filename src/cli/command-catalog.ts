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
  /** Two or three real command lines, printed at the end of the command's --help (test/cli/help.test.ts runs their flags through the parser). */
  examples: readonly string[];
  load(): Promise<CommandDefinition>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'measure',
    term: 'measure [options]',
    summary: 'run prompts through a model and save the norm of every token at every hook point',
    examples: [
      'resid-norms measure                                   # the embedded demo model, built-in prompts',
      'resid-norms measure --model gpt2-xl --prompts hf://datasets/NeelNanda/pile-10k --sample 500',
      'resid-norms measure --model ./llama-3-8b --prompts prompts.csv --text-column body --max-memory 4GB   # block by block if it must',
    ],
    load: async () => (await import('./measure-command.js')).measureCommand,
  },
  {
    name: 'weights',
    term: 'weights [options]',
    summary: "norms of every layer's weights (W_OV per head, b_O, W_in, W_out …), read from the weight files without inference",
    examples: [
      'resid-norms weights                                   # the embedded demo model',
      'resid-norms weights --model gpt2-xl -o results/gpt2-xl.weights.json',
    ],
    load: async () => (await import('./weights-command.js')).weightsCommand,
  },
  {
    name: 'mechanisms',
    term: 'mechanisms [options]',
    summary:
      "why the norm grows: each layer's MLP and W_OV on normalised random inputs vs attn_out / mlp_out, and MLP activation rates on real, random and resampled inputs",
    examples: [
      'resid-norms mechanisms                                # the embedded demo model, built-in prompts',
      'resid-norms mechanisms --model gpt2-xl --prompts my-prompts.csv --samples 200',
    ],
    load: async () => (await import('./mechanisms-command.js')).mechanismsCommand,
  },
  {
    name: 'merge',
    term: 'merge [options] <shards...>',
    summary: 'combine the shard files of `measure --shard i/n` into one results file',
    examples: [
      'resid-norms merge results/gpt2-xl.shard-*-of-8.json -o results/gpt2-xl.json',
      'resid-norms merge sweeps/pythia/members/pythia-410m-main.shard-*-of-4.json -o sweeps/pythia/members/pythia-410m-main.json',
    ],
    load: async () => (await import('./merge-command.js')).mergeCommand,
  },
  {
    name: 'sweep',
    term: 'sweep [options]',
    summary: 'measure one prompt set on many models or training checkpoints, then summarize growth across them (sweep.json + figures)',
    examples: [
      'resid-norms sweep --models gpt2,gpt2-medium,gpt2-large --sample 500 -o sweeps/gpt2-sizes',
      'resid-norms sweep --model pythia-160m --revisions pythia-log --evict -o sweeps/pythia-160m',
      'resid-norms sweep --collect -o sweeps/pythia-160m        # after a job array',
    ],
    load: async () => (await import('./sweep-command.js')).sweepCommand,
  },
  {
    name: 'fit',
    term: 'fit [options] <results...>',
    summary: 'fit the exponential growth of norms over layers, from results files of measure or weights (never the model)',
    examples: [
      'resid-norms fit results/demo-gpt2.json',
      'resid-norms fit results/gpt2-xl.json --layers 5:41 --expect 1.03..1.06',
      'resid-norms fit results/*.json --hook resid_post,attn_out --wide',
    ],
    load: async () => (await import('./fit-command.js')).fitCommand,
  },
  {
    name: 'plot',
    term: 'plot [options] [results...]',
    summary: 'draw the figures of the reference analysis from results and weights files, as SVG (and PNG)',
    examples: [
      'resid-norms plot results/demo-gpt2.json --out results/plots/',
      'resid-norms plot results/*.json --figures compare --rescale sqrt-d --x relative-depth --out results/plots/',
    ],
    load: async () => (await import('./plot-command.js')).plotCommand,
  },
  {
    name: 'report',
    term: 'report [options] [results...]',
    summary: 'write a self-contained HTML report (every figure, fits, metadata) and a Markdown summary for CI',
    examples: ['resid-norms report results/*.json --out results/report/', 'resid-norms report sweeps/pythia-160m --out sweeps/pythia-160m/report/'],
    load: async () => (await import('./report-command.js')).reportCommand,
  },
  {
    name: 'models',
    term: 'models',
    summary: 'list the model aliases and supported architectures',
    examples: ['resid-norms models', 'HF_HUB_OFFLINE=1 resid-norms models                    # no request: download sizes unknown'],
    load: async () => (await import('./models-command.js')).modelsCommand,
  },
];

/** The examples the tool's own --help (and a bare `resid-norms`) ends with: where to start. */
export const FIRST_EXAMPLES: readonly string[] = [
  'resid-norms measure                                   # start here: the embedded demo model, offline',
  'resid-norms fit results/demo-gpt2.json',
  'resid-norms report results/*.json --out results/report/',
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((entry) => entry.name === name);
}
