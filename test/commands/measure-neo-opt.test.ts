/**
 * measure end to end on tiny GPT-Neo and OPT models whose tokenizers are vocab.json +
 * merges.txt (as their Hub repos ship them): BOS as Hugging Face/TransformerLens prepend it,
 * every hook against the references, batched = one prompt at a time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure } from '../../src/commands/measure.js';
import { readMeasured, type MeasuredFile } from '../support/measured.js';
import type { HookNorms } from '../support/reference-ops.js';
import { referenceGptNeo } from '../support/reference-gpt-neo.js';
import { referenceOpt } from '../support/reference-opt.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import type { TinyModel } from '../support/tiny-model.js';
import { optByteId, OPT_BOS_ID, writeTinyOpt } from '../support/tiny-opt.js';

const PROMPTS = ['Hello world', 'The quick brown fox jumps over the lazy dog.', 'A', 'Residual streams grow, or so they say.'];
const bytes = (text: string) => [...Buffer.from(text, 'utf8')];

interface Case {
  name: string;
  make: (dir: string) => Promise<TinyModel>;
  reference: (tiny: TinyModel, ids: number[]) => HookNorms;
  /** Ids Hugging Face's tokenizer gives for a prompt, with the BOS measure prepends. */
  expectedIds: (text: string) => number[];
  dtype: string;
}

const CASES: Case[] = [
  {
    name: 'GPT-Neo (local window 3, F16 weights)',
    make: (dir) => writeTinyGptNeo(dir, { dModel: 32, nHeads: 4, windowSize: 3, dtype: 'F16', seed: 3 }),
    reference: (tiny, ids) => referenceGptNeo(tiny.weights, tiny.config, ids),
    expectedIds: (text) => [256, ...bytes(text)],
    dtype: 'F16',
  },
  {
    name: 'OPT',
    make: (dir) => writeTinyOpt(dir, { nLayers: 3, dModel: 32, nHeads: 4, seed: 3 }),
    reference: (tiny, ids) => referenceOpt(tiny.weights, tiny.config, ids),
    expectedIds: (text) => [OPT_BOS_ID, ...bytes(text).map(optByteId)],
    dtype: 'F32',
  },
];

for (const testCase of CASES) {
  describe(`measure on a tiny ${testCase.name} with a vocab.json + merges.txt tokenizer`, () => {
    let dir: string;
    let tiny: TinyModel;
    let promptsPath: string;
    const run = async (batchSize: number): Promise<MeasuredFile> => {
      const outPath = join(dir, `batch-${batchSize}.json`);
      await measure(
        { model: tiny.dir, promptsPath, outPath, batchSize, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false },
        createSilentReporter(),
      );
      return readMeasured(outPath);
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'rn-measure-neo-opt-'));
      tiny = await testCase.make(join(dir, 'model'));
      promptsPath = join(dir, 'prompts.txt');
      await writeFile(promptsPath, `${PROMPTS.join('\n')}\n`);
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    it('tokenizes as Hugging Face does, BOS once, and matches the reference on every hook', async () => {
      const result = await run(4);
      assert.deepEqual(
        result.sequences.map((s) => s.ids),
        PROMPTS.map(testCase.expectedIds),
      );
      assert.equal(result.model.dtype, testCase.dtype);
      assert.equal(result.options.primaryMetric, 'centered');
      assert.deepEqual(result.hooks, ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
      let worst = 0;
      for (const sequence of result.sequences) {
        const reference = testCase.reference(tiny, sequence.ids);
        for (const hook of result.hooks) {
          for (const [table, metric] of [
            [sequence.norms, 'centered'],
            [sequence.rawNorms, 'raw'],
          ] as const) {
            table[hook]!.forEach((row, layer) =>
              row.forEach((value, position) => {
                const expected = reference[hook][metric][layer]![position]!;
                worst = Math.max(worst, Math.abs(value - expected) / expected);
              }),
            );
          }
        }
      }
      assert.ok(worst < 1e-4 && worst > 0, `max relative error ${worst}`);
    });

    it('gives the same numbers batched as one prompt at a time', async () => {
      const [batched, single] = [await run(4), await run(1)];
      let worst = 0;
      batched.sequences.forEach((sequence, index) => {
        for (const hook of batched.hooks) {
          sequence.norms[hook]!.forEach((row, layer) =>
            row.forEach((value, position) => {
              const other = single.sequences[index]!.norms[hook]![layer]![position]!;
              worst = Math.max(worst, Math.abs(value - other) / other);
            }),
          );
        }
      });
      assert.ok(worst < 1e-5, `batched vs single max relative difference ${worst}`);
    });
  });
}
