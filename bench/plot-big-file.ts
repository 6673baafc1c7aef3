/**
 * How long `plot` and `report` take on a GPT2-XL-sized results file (48 layers × 5 hooks ×
 * thousands of tokens), phase by phase. Synthetic data with the real file's shape and schema.
 *   npm run build && node dist/bench/plot-big-file.js [prompts=100] [tokensPerPrompt=100]
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSilentReporter } from '../src/cli/reporter.js';
import { loadPlotSubjects } from '../src/commands/plot-inputs.js';
import { runPlot } from '../src/commands/plot.js';
import { runReport } from '../src/commands/report.js';
import { FIGURE_NAMES } from '../src/plots/figure-registry.js';
import { fitHooksFor, planFigures } from '../src/plots/figure-plan.js';
import { DEFAULT_FIGURE_OPTIONS } from '../src/plots/figure-types.js';
import { renderSvg } from '../src/plots/render.js';
import { formatMeasurement } from '../src/results/format-measurement.js';
import { readMeasurement } from '../src/results/read-measurement.js';
import { syntheticMeasurement } from '../test/support/synthetic-measurement.js';

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
    phases: [{ fromLayer: 0, growth: 1.3 }, { fromLayer: 5, growth: 1.045 }],
    sequenceWalk: 0.01,
    modelId: 'openai-community/gpt2-xl',
  });
  await writeFile(file, formatMeasurement(measurement));
  const size = (await stat(file)).size;
  console.log(`results file: 48 layers × 5 hooks × ${prompts * tokensPerPrompt} tokens, ${(size / 1e6).toFixed(0)} MB`);
  const reporter = createSilentReporter();
  await timed('read + validate', () => readMeasurement(file));
  const subjects = await timed('read + fits (resid_pre, attn_out, mlp_out)', () =>
    loadPlotSubjects({ files: [file], fitHooks: fitHooksFor(FIGURE_NAMES, DEFAULT_FIGURE_OPTIONS) }, reporter),
  );
  const plan = await timed('build the 8 specs', () => planFigures(subjects, FIGURE_NAMES, DEFAULT_FIGURE_OPTIONS));
  for (const { stem, outcome } of plan) {
    if (outcome.drawn) await timed(`  render ${stem}`, () => renderSvg(outcome.spec, stem));
  }
  await timed('resid-norms plot (everything, SVG)', () =>
    runPlot({ files: [file], outDir: join(folder, 'plots'), figures: FIGURE_NAMES, formats: ['svg'], figureOptions: DEFAULT_FIGURE_OPTIONS }, reporter),
  );
  await timed('resid-norms report (everything)', () =>
    runReport({ files: [file], outDir: join(folder, 'report'), figures: FIGURE_NAMES, figureOptions: DEFAULT_FIGURE_OPTIONS }, reporter),
  );
} finally {
  await rm(folder, { recursive: true, force: true });
}
