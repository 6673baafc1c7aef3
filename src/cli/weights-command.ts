/** `resid-norms weights` flags → a WeightsRequest; prints the per-layer table to stdout. */
import type { Command } from 'commander';
import type { MemoryAllocation } from '../runtime/memory-allocation.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';
import { addMemoryOption } from './options.js';

interface WeightsFlags {
  model?: string;
  out?: string;
  refresh: boolean;
  maxMemory: MemoryAllocation;
}

export const weightsCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  command
    .option('-m, --model <name>', 'alias (gpt2-xl), Hub repo owner/name[@revision], or local folder (default: the embedded demo model)')
    .option('-o, --out <file>', 'weights file (default: results/<model>.weights.json)')
    .option('--refresh', 'ask the Hub for the newest commit of the revision even if it is cached', false);
  return addMemoryOption(command, io.env).action(async (flags: WeightsFlags, command: Command) => {
    const { reporter, print, env } = commandContext(command, io);
    const { analyzeWeights } = await import('../commands/weights.js');
    const { formatWeightsTable } = await import('../text-tables/weights-table.js');
    const { outPath, weights } = await analyzeWeights(
      {
        ...(flags.model !== undefined ? { model: flags.model } : {}),
        ...(flags.out !== undefined ? { outPath: flags.out } : {}),
        refresh: flags.refresh,
        maxMemory: flags.maxMemory,
        env,
      },
      reporter,
    );
    print(formatWeightsTable(weights));
    const megabytes = (weights.runtime.bytesRead / 1e6).toFixed(1);
    reporter.info(`wrote ${outPath} (${weights.layers.length} layers, ${megabytes} MB of weights read in ${weights.runtime.seconds.toFixed(1)} s)`);
  });
}
