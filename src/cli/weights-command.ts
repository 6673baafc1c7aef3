/** `resid-norms weights` flags → a WeightsRequest; prints the per-layer table to stdout. */
import type { Command } from 'commander';
import { analyzeWeights } from '../commands/weights.js';
import { formatWeightsTable } from '../commands/weights-table.js';
import { globalOptions } from './program.js';
import { createConsoleReporter } from './reporter.js';

interface WeightsFlags {
  model?: string;
  out?: string;
  refresh: boolean;
}

export function registerWeights(program: Command): void {
  program
    .command('weights')
    .description("norms of every layer's weights (W_OV per head, b_O, W_in, W_out …), read from the safetensors files without inference")
    .option('-m, --model <name>', 'alias (gpt2-xl), Hub repo owner/name[@revision], or local folder (default: the embedded demo model)')
    .option('-o, --out <file>', 'weights file (default: results/<model>.weights.json)')
    .option('--refresh', 'ask the Hub for the newest commit of the revision even if it is cached', false)
    .action(async (flags: WeightsFlags, command: Command) => {
      const reporter = createConsoleReporter({ quiet: globalOptions(command).quiet });
      const { outPath, weights } = await analyzeWeights(
        {
          ...(flags.model !== undefined ? { model: flags.model } : {}),
          ...(flags.out !== undefined ? { outPath: flags.out } : {}),
          refresh: flags.refresh,
        },
        reporter,
      );
      process.stdout.write(formatWeightsTable(weights));
      const megabytes = (weights.runtime.bytesRead / 1e6).toFixed(1);
      reporter.info(`wrote ${outPath} (${weights.layers.length} layers, ${megabytes} MB of weights read in ${weights.runtime.seconds.toFixed(1)} s)`);
    });
}
