/** `resid-norms merge SHARDS… --out FILE`. */
import type { Command } from 'commander';
import { guardFileCommand, inputFiles } from '../io/output-guard.js';
import { commandContext, type CliIo, type CommandDefinition } from './cli-io.js';

export const mergeCommand: CommandDefinition = { define };

function define(command: Command, io: CliIo): Command {
  return command
    .argument('<shards...>', 'shard files, all n of them')
    .requiredOption('-o, --out <file>', 'merged results file')
    .action(async (paths: string[], flags: { out: string }, command: Command) => {
      const { reporter } = commandContext(command, io);
      await guardFileCommand(inputFiles(paths, 'the shard file'), [{ flag: '--out', path: flags.out }]);
      const { mergeShards } = await import('../commands/merge.js');
      const merged = await mergeShards(paths, flags.out);
      reporter.info(`wrote ${flags.out} (${merged.prompts.count} prompts from ${paths.length} shards)`);
    });
}
