/**
 * A really trained Llama: stories260K (llama2.c's TinyStories model, converted to the Hugging
 * Face layout; see its README). `measure` with the reference token ids must reproduce the raw
 * norms of reference.json, computed by an independent implementation, at all five hooks.
 * The folder is shared data outside the repository: without it the test is skipped.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure } from '../../src/commands/measure.js';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { readMeasured } from '../support/measured.js';
import { HOOK_NAMES, type HookName } from '../../src/vocabulary/hooks.js';

const MODEL_DIR = resolve(PACKAGE_ROOT, '..', 'shared', 'models', 'stories260K');
const RELATIVE_TOLERANCE = 1e-4;

interface Reference {
  ids: number[];
  norms: Record<HookName, number[][]>;
}

const present = existsSync(join(MODEL_DIR, 'model.safetensors')) && existsSync(join(MODEL_DIR, 'reference.json'));

describe('stories260K (a trained Llama) against its reference norms', () => {
  it(`measure reproduces reference.json's raw norms at all five hooks to ${RELATIVE_TOLERANCE}`, {
    skip: present ? false : `stories260K not found at ${MODEL_DIR}; put the shared model folder there to run this test`,
  }, async () => {
    const reference = JSON.parse(await readFile(join(MODEL_DIR, 'reference.json'), 'utf8')) as Reference;
    const dir = await mkdtemp(join(tmpdir(), 'rn-stories-'));
    try {
      const promptsPath = join(dir, 'ids.jsonl');
      await writeFile(promptsPath, `${JSON.stringify({ ids: reference.ids })}\n`);
      const outPath = join(dir, 'stories.json');
      await measure(
        { model: MODEL_DIR, promptsPath, outPath, batchSize: 1, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false },
        createSilentReporter(),
      );
      const result = await readMeasured(outPath);
      assert.equal(result.model.architecture, 'llama');
      assert.equal(result.model.dtype, 'F32');
      assert.equal(result.options.primaryMetric, 'raw');
      assert.deepEqual(result.hooks, [...HOOK_NAMES]);
      const sequence = result.sequences[0]!;
      assert.deepEqual(sequence.ids, reference.ids, 'token ids are used exactly as given');
      let worst = 0;
      let compared = 0;
      for (const hook of HOOK_NAMES) {
        const expected = reference.norms[hook];
        assert.ok(expected, `reference.json has ${hook}`);
        assert.equal(sequence.rawNorms[hook]!.length, expected.length, `${hook} layers`);
        expected.forEach((row, layer) =>
          row.forEach((value, position) => {
            worst = Math.max(worst, Math.abs(sequence.rawNorms[hook]![layer]![position]! - value) / value);
            compared += 1;
          }),
        );
      }
      assert.equal(compared, 5 * 5 * reference.ids.length);
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      process.stdout.write(`# stories260K: max relative error ${worst.toExponential(2)} over ${compared} norms\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
