/** `resid-norms merge SHARDS… --out FILE`. */
import type { Command } from 'commander';
import { mergeShards } from '../commands/merge.js';
import { globalOptions } from './program.js';
import { guardFileCommand, inputFiles } from '../io/output-guard.js';
import { createConsoleReporter } from './reporter.js';

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine the shard files of `measure --shard i/n` into one results file')
    .argument('<shards...>', 'shard files, all n of them')
    .requiredOption('-o, --out <file>', 'merged results file')
    .action(async (paths: string[], flags: { out: string }, command: Command) => {
      const reporter = createConsoleReporter(globalOptions(command));
      await guardFileCommand(inputFiles(paths, 'the shard file'), [{ flag: '--out', path: flags.out }]);
      const merged = await mergeShards(paths, flags.out);
      reporter.info(`wrote ${flags.out} (${merged.prompts.count} prompts from ${paths.length} shards)`);
    });
}
