/**
 * The diagnostics on a really trained Llama, stories260K (grouped-query attention, RMSNorm; see
 * test/commands/stories260k.test.ts), against the float64 reference on reference.json's tokens.
 * Trained weights have real attention sinks and a privileged basis, unlike random ones. The
 * folder is shared data outside the repository: without it the test is skipped.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { DIAGNOSTICS } from '../../src/results/diagnostics.js';
import { diagnosticsAgainstReference, measureOf, type Measure } from '../support/diagnostics-agreement.js';
import { referenceLlama, referenceLlamaHead } from '../support/reference-llama.js';

const MODEL_DIR = resolve(PACKAGE_ROOT, '..', 'shared', 'models', 'stories260K');
const TOLERANCE: Record<Measure, number> = { absolute: 1e-5, relative: 1e-4, mismatches: 0 };
/** The lens's entropy, relative (against at least 0.01 nats; see diagnostics-graph.test.ts). */
const ENTROPY_TOLERANCE = 5e-5;
const present = existsSync(join(MODEL_DIR, 'model.safetensors')) && existsSync(join(MODEL_DIR, 'reference.json'));

describe('diagnostics of stories260K (a trained Llama) against the reference', () => {
  it(`every diagnostic agrees (absolute ${TOLERANCE.absolute}, relative ${TOLERANCE.relative}, same dimensions)`, {
    skip: present ? false : `stories260K not found at ${MODEL_DIR}; put the shared model folder there to run this test`,
  }, async () => {
    const { ids } = JSON.parse(await readFile(join(MODEL_DIR, 'reference.json'), 'utf8')) as { ids: number[] };
    const config = JSON.parse(await readFile(join(MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
    const index = await readWeightIndex(MODEL_DIR);
    const weights = new Map<string, Float32Array>();
    for (const [name, info] of index.tensors) weights.set(name.replace(/^model\./, ''), await readTensorValues(info));
    const prompts = [ids, ids.slice(0, Math.ceil(ids.length / 2))];
    const { errors, batchVsSingle, nearTies } = await diagnosticsAgainstReference(
      MODEL_DIR,
      prompts,
      { diagnostics: DIAGNOSTICS, massiveDims: [0] },
      (tokens, trace) => void referenceLlama(weights, config, tokens, trace),
      referenceLlamaHead(weights, config),
    );
    const report: string[] = [];
    for (const [column, error] of errors) {
      const measure = measureOf(column);
      const tolerance = column === 'lens_entropy' ? ENTROPY_TOLERANCE : TOLERANCE[measure];
      assert.ok(error <= tolerance, `${column}: ${measure} difference ${error} exceeds ${tolerance}`);
      report.push(`${column} ${measure === 'mismatches' ? error : error.toExponential(1)}`);
    }
    assert.ok(batchVsSingle < 1e-5, `batch vs one at a time: ${batchVsSingle}`);
    process.stdout.write(
      `# stories260K (${ids.length} tokens): ${report.join(', ')}; lens ranks with a near tie ${nearTies.ranks} (${nearTies.differing} differ); batch vs single ${batchVsSingle.toExponential(1)}\n`,
    );
  });
});
