/**
 * results/ holds what `npm run examples` makes from the embedded demo model. These tests fail
 * when it is stale: when the demo model or the measurement code would now give other numbers,
 * or when fit, plot or report would now draw or write anything differently.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readMeasured } from '../support/measured.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import { readMechanismsFile } from '../../src/results/read-mechanisms.js';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { EXAMPLE_FILES, regenerateExamples } from '../../scripts/examples.js';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)])));
  return nested.flat().sort();
}

/** Largest relative difference between two equally shaped nested number arrays. */
function maxRelativeDifference(a: unknown, b: unknown, path = ''): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `length differs at ${path}`);
    return Math.max(0, ...a.map((value, index) => maxRelativeDifference(value, b[index], `${path}[${index}]`)));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `keys differ at ${path}`);
    return Math.max(0, ...Object.keys(a).map((key) => maxRelativeDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`)));
  }
  assert.deepEqual(a, b, `value differs at ${path}`);
  return 0;
}

const committed = (file: string) => join(PACKAGE_ROOT, file);
const present = existsSync(committed(EXAMPLE_FILES.measurement)) && existsSync(join(PACKAGE_ROOT, 'models', 'demo-gpt2', 'config.json'));

describe('results/ examples are up to date (npm run examples regenerates them)', { skip: present ? false : 'results/ or the demo model is missing' }, () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-examples-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('measure, weights and mechanisms on the demo model give the committed numbers', async () => {
    const fresh = join(root, 'fresh');
    await mkdir(fresh);
    await regenerateExamples(fresh, 'model');
    const [measured, saved] = [await readMeasured(join(fresh, EXAMPLE_FILES.measurement)), await readMeasured(committed(EXAMPLE_FILES.measurement))];
    const strip = ({ runtime: _runtime, ...rest }: typeof measured) => rest; // per-token values come from the tables
    // float32 kernels may round differently on another CPU; anything beyond that is a change.
    assert.ok(maxRelativeDifference(strip(measured), strip(saved)) < 1e-5, 'the measurement changed: run `npm run examples`');
    const [weights, savedWeights] = [await readWeightsFile(join(fresh, EXAMPLE_FILES.weights)), await readWeightsFile(committed(EXAMPLE_FILES.weights))];
    // The MLP products come from a float32 GEMM in ONNX Runtime (1e-5, as the measurement); the rest from float64 loops.
    const products = (file: typeof weights) => file.layers.map((layer) => [layer.raw.W_inW_out, layer.raw.b_inW_out, layer.processed.W_inW_out, layer.processed.b_inW_out]);
    const stripWeights = ({ runtime: _runtime, ...rest }: typeof weights) => ({
      ...rest,
      layers: rest.layers.map(({ raw: { W_inW_out: _a, b_inW_out: _b, ...raw }, processed: { W_inW_out: _c, b_inW_out: _d, ...processed }, ...layer }) => ({ ...layer, raw, processed })),
    });
    assert.ok(maxRelativeDifference(stripWeights(weights), stripWeights(savedWeights)) < 1e-9, 'the weight norms changed: run `npm run examples`');
    assert.ok(maxRelativeDifference(products(weights), products(savedWeights)) < 1e-5, 'the MLP products changed: run `npm run examples`');
    const [mechanisms, savedMechanisms] = [await readMechanismsFile(join(fresh, EXAMPLE_FILES.mechanisms)), await readMechanismsFile(committed(EXAMPLE_FILES.mechanisms))];
    const stripMechanisms = ({ runtime: _runtime, ...rest }: typeof mechanisms) => rest;
    // float32 norms, and activation rates that move by 1/(dMlp·tokens) when a pre-activation within rounding of 0 flips.
    assert.ok(maxRelativeDifference(stripMechanisms(mechanisms), stripMechanisms(savedMechanisms)) < 1e-4, 'the mechanisms changed: run `npm run examples`');
  });

  it('fit, figures and report rebuilt from the committed results are byte-identical', async () => {
    const derived = join(root, 'derived');
    await mkdir(join(derived, 'results'), { recursive: true });
    await cp(committed(EXAMPLE_FILES.measurement), join(derived, EXAMPLE_FILES.measurement));
    for (const table of Object.values(tablePaths(EXAMPLE_FILES.measurement))) await cp(committed(table), join(derived, table));
    await cp(committed(EXAMPLE_FILES.weights), join(derived, EXAMPLE_FILES.weights));
    await cp(committed(EXAMPLE_FILES.mechanisms), join(derived, EXAMPLE_FILES.mechanisms));
    await regenerateExamples(derived, 'derived');
    const made = (await listFiles(join(derived, 'results'))).map((file) => relative(derived, file));
    const kept = (await listFiles(committed('results'))).map((file) => relative(PACKAGE_ROOT, file));
    assert.deepEqual(made, kept, 'results/ holds other files than npm run examples makes');
    for (const file of made) {
      assert.ok((await readFile(join(derived, file))).equals(await readFile(committed(file))), `${file} is stale: run \`npm run examples\``);
    }
  });
});
