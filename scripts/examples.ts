/**
 * `npm run examples`: regenerate results/ — what the embedded demo model gives with the built-in
 * prompts: the measurement, the weight norms, the mechanisms, their growth fits, every figure and the report.
 *
 * Steps run the CLI (in this process) from the given root folder with relative paths, so the files name
 * `results/…` wherever they were made. Steps `model` are those that read the model (measure,
 * weights, mechanisms); steps `derived` rebuild the rest (fit, figures, report) from the results
 * files already there, which is pure JavaScript and byte-for-byte reproducible: the staleness test
 * checks each part on its own.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli/main.js';

export const EXAMPLE_FILES = {
  measurement: 'results/demo-gpt2.json',
  weights: 'results/demo-gpt2.weights.json',
  mechanisms: 'results/demo-gpt2.mechanisms.json',
  fit: 'results/demo-gpt2.fit.json',
  plots: 'results/plots',
  report: 'results/report',
} as const;

const HOOKS = 'resid_pre,attn_out,resid_mid,mlp_out,resid_post';

/** One command line, in this process, from `root` (relative paths are the point), its messages kept for a failure. */
async function run(root: string, args: string[]): Promise<void> {
  let stderr = '';
  const io = { stdout: { write: () => true }, stderr: { write: (text: string) => (stderr += text) }, env: process.env };
  const home = process.cwd();
  process.chdir(root);
  try {
    const code = await runCli(['node', 'resid-norms', '--quiet', ...args], io);
    if (code !== 0) throw new Error(`resid-norms ${args.join(' ')} failed (${code}):\n${stderr}`);
  } finally {
    process.chdir(home);
  }
}

export type ExampleSteps = 'all' | 'model' | 'derived';

export async function regenerateExamples(root: string, steps: ExampleSteps = 'all'): Promise<void> {
  const f = EXAMPLE_FILES;
  if (steps !== 'derived') {
    await run(root, ['measure', '--out', f.measurement]);
    await run(root, ['weights', '--out', f.weights]);
    await run(root, ['mechanisms', '--out', f.mechanisms]);
  }
  if (steps === 'model') return;
  // Figures and report are rebuilt from scratch: no stale figure may survive a rename.
  await rm(join(root, f.plots), { recursive: true, force: true });
  await rm(join(root, f.report), { recursive: true, force: true });
  await run(root, ['fit', f.measurement, f.weights, '--hook', HOOKS, '--out', f.fit]);
  await run(root, ['plot', f.measurement, f.weights, f.mechanisms, '--fit', f.fit, '--out', f.plots]);
  await run(root, ['report', f.measurement, f.weights, f.mechanisms, '--fit', f.fit, '--out', f.report]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  await regenerateExamples(root, process.argv.includes('--derived-only') ? 'derived' : 'all');
  process.stdout.write(`regenerated ${Object.values(EXAMPLE_FILES).join(', ')}\n`);
}
