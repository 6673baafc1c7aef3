/**
 * How long `plot` and `report` take on a GPT2-XL-sized results file (48 layers × 5 hooks ×
 * thousands of tokens): end to end through the CLI (a fresh process each, as a user runs
 * them), then phase by phase in this process. Synthetic data with the real file's schema.
 *   npm run build && node dist/bench/plot-big-file.js [prompts=100] [tokensPerPrompt=100]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSilentReporter } from '../src/messages/reporter.js';
import { loadPlotInputs } from '../src/figure-inputs/plot-inputs.js';
import { FIGURE_NAMES } from '../src/figures/figure-registry.js';
import { fitHooksFor, planFigures } from '../src/figures/figure-plan.js';
import { DEFAULT_FIGURE_OPTIONS } from '../src/figures/figure-types.js';
import { renderSvg } from '../src/rendering/render.js';
import { readMeasurement } from '../src/results/read-measurement.js';
import { syntheticMeasurement } from '../test/support/synthetic-measurement.js';

const CLI = new URL('../../bin/resid-norms.js', import.meta.url).pathname;

function timeCli(label: string, args: string[]): void {
  const start = performance.now();
  const result = spawnSync(process.execPath, [CLI, '--quiet', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${label} failed: ${result.stderr}`);
  console.log(`${label.padEnd(44)} ${((performance.now() - start) / 1000).toFixed(2)} s`);
}

async function timed<T>(label: string, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  const result = await work();
  console.log(`${label.padEnd(44)} ${((performance.now() - start) / 1000).toFixed(2)} s`);
  return result;
}

const prompts = Number(process.argv[2] ?? 100);
const tokensPerPrompt = Number(process.argv[3] ?? 100);
const folder = await mkdtemp(join(tmpdir(), 'rn-bench-'));
try {
  const file = join(folder, 'gpt2-xl.json');
  const measurement = syntheticMeasurement({
    nLayers: 48,
    dModel: 1600,
    sequences: prompts,
    tokensPerSequence: tokensPerPrompt,
    phases: [
      { fromLayer: 0, growth: 1.3 },
      { fromLayer: 5, growth: 1.045 },
    ],
    sequenceWalk: 0.01,
    modelId: 'openai-community/gpt2-xl',
  });
  await writeFile(file, JSON.stringify(measurement)); // a version-1 file: the reader of old files is what this times
  const size = (await stat(file)).size;
  console.log(`results file: 48 layers × 5 hooks × ${prompts * tokensPerPrompt} tokens, ${(size / 1e6).toFixed(0)} MB`);
  timeCli('resid-norms plot (all figures, SVG)', ['plot', file, '--out', join(folder, 'plots')]);
  timeCli('resid-norms plot (all figures, SVG + PNG)', ['plot', file, '--out', join(folder, 'plots'), '--format', 'svg,png']);
  timeCli('resid-norms report', ['report', file, '--out', join(folder, 'report')]);
  console.log('phases, in this process:');
  const reporter = createSilentReporter();
  await timed('  read + validate', () => readMeasurement(file));
  const { subjects } = await timed('  read + fits (resid_pre, attn_out, mlp_out)', () =>
    loadPlotInputs({ files: [file], fitHooks: fitHooksFor(FIGURE_NAMES, DEFAULT_FIGURE_OPTIONS), fitWeights: false }, reporter),
  );
  const plan = await timed('  build the specs (aggregation included)', () => planFigures(subjects, FIGURE_NAMES, DEFAULT_FIGURE_OPTIONS));
  for (const { stem, outcome } of plan) {
    if (outcome.drawn) await timed(`  render ${stem}`, () => renderSvg(outcome.spec, stem));
  }
} finally {
  await rm(folder, { recursive: true, force: true });
}
