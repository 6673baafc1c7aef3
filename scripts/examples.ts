/**
 * `npm run examples`: regenerate examples/ — what the embedded demo model gives with the built-in
 * prompts: the measurement, the weight norms, the mechanisms, their growth fits, every figure and
 * the report. (results/ is the user's: git-ignored, where `measure` writes by default.)
 *
 * Steps run the CLI (in this process) from the given root folder with relative paths, so the files
 * name `examples/…` wherever they were made. The model steps (measure, weights, mechanisms) write
 * into a staging folder first; a new file replaces the committed one only when its numbers differ
 * (runtime fields left out, float32 tolerances), so rerunning on an unchanged tool
 * leaves every committed byte as it was. The derived steps (fit, figures, report) are pure
 * JavaScript over those files and byte-for-byte reproducible.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli/main.js';
import { readMeasurementFile } from '../src/store/open-results.js';
import { tablePaths } from '../src/store/result-tables.js';

export const EXAMPLE_FILES = {
  measurement: 'examples/demo-gpt2.json',
  weights: 'examples/demo-gpt2.weights.json',
  mechanisms: 'examples/demo-gpt2.mechanisms.json',
  fit: 'examples/demo-gpt2.fit.json',
  plots: 'examples/plots',
  report: 'examples/report',
} as const;

// The headline first, as everywhere.
const HOOKS = 'resid_post,resid_pre,attn_out,resid_mid,mlp_out';

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

/** Largest relative difference between two equally shaped JSON values; Infinity when their shapes or other values differ. */
export function maxRelativeDifference(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return Infinity;
    return a.reduce((worst: number, value, index) => Math.max(worst, maxRelativeDifference(value, b[index])), 0);
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = Object.keys(a).sort();
    if (keys.join('\0') !== Object.keys(b).sort().join('\0')) return Infinity;
    return keys.reduce((worst, key) => Math.max(worst, maxRelativeDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])), 0);
  }
  return a === b ? 0 : Infinity;
}

const withoutRuntime = (document: Record<string, unknown>): Record<string, unknown> => {
  const { runtime: _runtime, ...rest } = document;
  return rest;
};

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** Largest relative difference of two measurements: the file without its runtime, and every per-token value of its tables. */
async function measurementDifference(made: string, kept: string): Promise<number> {
  // The run id hashes the tables' bytes, so float32 rounding on another CPU changes it: the values are compared instead.
  const withoutRunId = (document: Record<string, unknown>) => ({ ...document, tables: { ...(document.tables as Record<string, unknown>), runId: undefined } });
  let worst = maxRelativeDifference(withoutRunId(withoutRuntime(await readJson(made))), withoutRunId(withoutRuntime(await readJson(kept))));
  if (!Number.isFinite(worst)) return worst;
  const [a, b] = [await readMeasurementFile(made), await readMeasurementFile(kept)];
  const hooks = a.measurement.hooks;
  const sequencesOf = async (file: typeof a) => (await file.tokens()).sequences(hooks)[Symbol.asyncIterator]();
  const [left, right] = [await sequencesOf(a), await sequencesOf(b)];
  for (;;) {
    const [x, y] = [await left.next(), await right.next()];
    if (x.done || y.done) return x.done && y.done ? worst : Infinity;
    const { ids, tokens, slots } = x.value;
    worst = Math.max(
      worst,
      maxRelativeDifference(
        { ids: [...ids], tokens: [...tokens], slots: [...slots] },
        { ids: [...y.value.ids], tokens: [...y.value.tokens], slots: [...y.value.slots] },
      ),
    );
    worst = Math.max(worst, maxRelativeDifference(Array.from(x.value.values), Array.from(y.value.values)));
    if (!Number.isFinite(worst)) return worst;
  }
}

/** The weight norms are float64 loops, except the MLP products: a float32 GEMM in ONNX Runtime. */
const MLP_PRODUCTS = ['W_inW_out', 'b_inW_out'];
type Layers = Array<Record<string, unknown> & { raw: Record<string, unknown>; processed: Record<string, unknown> }>;
function splitProducts(document: Record<string, unknown>): { norms: Record<string, unknown>; products: unknown[] } {
  const layers = document.layers as Layers;
  const pick = (variant: Record<string, unknown>, keep: boolean) =>
    Object.fromEntries(Object.entries(variant).filter(([key]) => MLP_PRODUCTS.includes(key) === keep));
  return {
    norms: { ...document, layers: layers.map((layer) => ({ ...layer, raw: pick(layer.raw, false), processed: pick(layer.processed, false) })) },
    products: layers.map((layer) => [pick(layer.raw, true), pick(layer.processed, true)]),
  };
}

/** Differences (made vs kept) as multiples of what each may show and still be the same result: ≤ 1 keeps the committed file. */
async function weightsDifference(made: string, kept: string): Promise<number> {
  const [a, b] = [splitProducts(withoutRuntime(await readJson(made))), splitProducts(withoutRuntime(await readJson(kept)))];
  return Math.max(maxRelativeDifference(a.norms, b.norms) / 1e-9, maxRelativeDifference(a.products, b.products) / 1e-5);
}

/**
 * The model steps, what each writes, and how far its numbers may move against the committed file
 * (as a multiple of the tolerance: ≤ 1 is the same result). float32 kernels may round differently
 * on another CPU (1e-5); activation rates move by 1/(dMlp·tokens) when a pre-activation within
 * rounding of 0 flips (1e-4).
 */
const MODEL_STEPS = [
  {
    args: ['measure', '--out', EXAMPLE_FILES.measurement],
    file: EXAMPLE_FILES.measurement,
    tables: true,
    difference: async (made: string, kept: string) => (await measurementDifference(made, kept)) / 1e-5,
  },
  { args: ['weights', '--out', EXAMPLE_FILES.weights], file: EXAMPLE_FILES.weights, tables: false, difference: weightsDifference },
  {
    args: ['mechanisms', '--out', EXAMPLE_FILES.mechanisms],
    file: EXAMPLE_FILES.mechanisms,
    tables: false,
    difference: async (made: string, kept: string) => maxRelativeDifference(withoutRuntime(await readJson(made)), withoutRuntime(await readJson(kept))) / 1e-4,
  },
] as const;

/** The files one step writes: the JSON and, for a measurement, its two tables. */
function stepFiles(step: (typeof MODEL_STEPS)[number]): string[] {
  return step.tables ? [step.file, ...Object.values(tablePaths(step.file))] : [step.file];
}

export type ExampleSteps = 'all' | 'model' | 'derived';

/** Regenerates examples/ under `root`; returns the files the model steps replaced (none when the tool gives the same numbers). */
export async function regenerateExamples(root: string, steps: ExampleSteps = 'all'): Promise<string[]> {
  const f = EXAMPLE_FILES;
  const replaced: string[] = [];
  if (steps !== 'derived') {
    const staging = await mkdtemp(join(tmpdir(), 'rn-examples-'));
    try {
      for (const step of MODEL_STEPS) {
        await run(staging, [...step.args]);
        const kept = join(root, step.file);
        const made = join(staging, step.file);
        if (existsSync(kept) && (await step.difference(made, kept)) <= 1) continue;
        await mkdir(dirname(kept), { recursive: true });
        for (const file of stepFiles(step)) {
          // The staging folder may be on another file system than root: copy, not rename.
          await copyFile(join(staging, file), join(root, file));
          replaced.push(file);
        }
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  if (steps === 'model') return replaced;
  // Figures and report are rebuilt from scratch: no stale figure may survive a rename.
  await rm(join(root, f.plots), { recursive: true, force: true });
  await rm(join(root, f.report), { recursive: true, force: true });
  await run(root, ['fit', f.measurement, f.weights, '--hook', HOOKS, '--out', f.fit]);
  await run(root, ['plot', f.measurement, f.weights, f.mechanisms, '--fit', f.fit, '--out', f.plots]);
  await run(root, ['report', f.measurement, f.weights, f.mechanisms, '--fit', f.fit, '--out', f.report]);
  return replaced;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const replaced = await regenerateExamples(root, process.argv.includes('--derived-only') ? 'derived' : 'all');
  const changed = replaced.length === 0 ? 'the model gives the committed numbers' : `new numbers in ${replaced.join(', ')}`;
  process.stdout.write(`regenerated ${Object.values(EXAMPLE_FILES).join(', ')} (${changed})\n`);
}
