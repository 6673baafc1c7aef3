/**
 * `npm run examples`: regenerate results/ — what the embedded demo model gives with the built-in
 * prompts: the measurement, the weight norms, the mechanisms, their growth fits, every figure and the report.
 *
 * Steps run the built CLI from the given root folder with relative paths, so the files name
 * `results/…` wherever they were made. Steps `model` are those that read the model (measure,
 * weights, mechanisms); steps `derived` rebuild the rest (fit, figures, report) from the results
 * files already there, which is pure JavaScript and byte-for-byte reproducible: the staleness test
 * checks each part on its own.
 */
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/resid-norms.js', import.meta.url));

export const EXAMPLE_FILES = {
  measurement: 'results/demo-gpt2.json',
  weights: 'results/demo-gpt2.weights.json',
  mechanisms: 'results/demo-gpt2.mechanisms.json',
  fit: 'results/demo-gpt2.fit.json',
  plots: 'results/plots',
  report: 'results/report',
} as const;

const HOOKS = 'resid_pre,attn_out,resid_mid,mlp_out,resid_post';

function run(root: string, args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, '--quiet', ...args], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`resid-norms ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return result.stdout;
}

export type ExampleSteps = 'all' | 'model' | 'derived';

export async function regenerateExamples(root: string, steps: ExampleSteps = 'all'): Promise<void> {
  const f = EXAMPLE_FILES;
  if (steps !== 'derived') {
    run(root, ['measure', '--out', f.measurement]);
    run(root, ['weights', '--out', f.weights]);
    run(root, ['mechanisms', '--out', f.mechanisms]);
  }
  if (steps === 'model') return;
  // Figures and report are rebuilt from scratch: no stale figure may survive a rename.
  await rm(join(root, f.plots), { recursive: true, force: true });
  await rm(join(root, f.report), { recursive: true, force: true });
  run(root, ['fit', f.measurement, f.weights, '--hook', HOOKS, '--out', f.fit]);
  run(root, ['plot', f.measurement, f.weights, f.mechanisms, '--fit', f.fit, '--out', f.plots]);
  run(root, ['report', f.measurement, f.weights, f.mechanisms, '--fit', f.fit, '--out', f.report]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  await regenerateExamples(root, process.argv.includes('--derived-only') ? 'derived' : 'all');
  process.stdout.write(`regenerated ${Object.values(EXAMPLE_FILES).join(', ')}\n`);
}
