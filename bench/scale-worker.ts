/**
 * One scale-benchmark scenario in a fresh process (so its peak RSS is its own), printing one
 * JSON line:
 *   measure <modelDir> <promptsFile> <outPath> <hooks> → `measure` through the CLI, in process
 *   cli <args…>                                        → any other command (fit, report), in process
 */
import { stat } from 'node:fs/promises';
import { runCli } from '../src/cli/main.js';
import { readMeasurementFile } from '../src/store/open-results.js';
import { tablePaths } from '../src/store/result-tables.js';

const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

async function cli(args: string[]): Promise<number> {
  const startedAt = performance.now();
  const code = await runCli(['node', 'resid-norms', '--quiet', ...args]);
  if (code !== 0) throw new Error(`resid-norms ${args.join(' ')} exited with ${code}`);
  return (performance.now() - startedAt) / 1000;
}

const [mode, ...args] = process.argv.slice(2);
let result: object;
if (mode === 'measure') {
  const [modelDir, promptsPath, outPath, hooks] = args as [string, string, string, string];
  const wall = await cli(['measure', '--model', modelDir, '--prompts', promptsPath, '--out', outPath, '--hooks', hooks, '--batch-size', '16', '--restart']);
  const { measurement } = await readMeasurementFile(outPath);
  const runtime = measurement.runtime as { tokens: number; seconds: number; writingSeconds?: number };
  const tables = tablePaths(outPath);
  const values = measurement.tokens.measured * measurement.hooks.length * 2 * measurement.model.nLayers;
  const bytes = (await stat(tables.tokens)).size + (await stat(tables.prompts)).size + (await stat(outPath)).size;
  result = {
    tokens: runtime.tokens,
    seconds: runtime.seconds,
    writingSeconds: runtime.writingSeconds ?? 0,
    wall,
    values,
    bytes,
    jsonBytes: (await stat(outPath)).size,
    maxRssBytes: maxRssBytes(),
  };
} else if (mode === 'cli') {
  result = { wall: await cli(args), maxRssBytes: maxRssBytes() };
} else {
  throw new Error(`unknown scale-bench mode ${mode}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
