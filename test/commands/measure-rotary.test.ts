import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { UsageError } from '../../src/errors.js';
import { readMeasured, type MeasuredFile } from '../support/measured.js';
import type { HookNorms } from '../support/reference-ops.js';
import { referenceGptNeox } from '../support/reference-gpt-neox.js';
import { referenceLlama } from '../support/reference-llama.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import type { TinyModel } from '../support/tiny-model.js';

const PROMPTS = ['Hello world', 'The quick brown fox jumps over the lazy dog.', 'A', 'Rotary embeddings turn queries and keys.', 'Medium prompt here.'];

/** Worst relative difference between a results file and the reference, over both metrics. */
function worstError(result: MeasuredFile, reference: (ids: number[]) => HookNorms): number {
  let worst = 0;
  for (const sequence of result.sequences) {
    const expected = reference(sequence.ids);
    for (const hook of result.hooks) {
      for (const [table, metric] of [
        [sequence.norms, 'centered'],
        [sequence.rawNorms, 'raw'],
      ] as const) {
        table[hook]!.forEach((row, layer) =>
          row.forEach((value, position) => {
            const want = expected[hook][metric][layer]![position]!;
            worst = Math.max(worst, Math.abs(value - want) / want);
          }),
        );
      }
    }
  }
  return worst;
}

describe('measure on tiny GPT-NeoX and Llama models (batched, right-padded)', () => {
  let dir: string;
  let promptsPath: string;
  let pythia: TinyModel;
  let llama: TinyModel;
  const run = async (model: TinyModel, name: string, overrides: Partial<MeasureRequest> = {}) => {
    const reporter = createSilentReporter();
    const outPath = join(dir, `${name}.json`);
    await measure(
      { model: model.dir, promptsPath, outPath, batchSize: 3, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false, ...overrides },
      reporter,
    );
    return { result: await readMeasured(outPath), reporter };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-measure-rotary-'));
    promptsPath = join(dir, 'prompts.txt');
    await writeFile(promptsPath, `${PROMPTS.join('\n')}\n`);
    pythia = await writeTinyGptNeox(join(dir, 'pythia'), { nLayers: 3, dModel: 32, nHeads: 4, rotaryPct: 0.5, dtype: 'F16', seed: 31 });
    llama = await writeTinyLlama(join(dir, 'llama'), { nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 2, dtype: 'BF16', seed: 33 });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('parallel-residual GPT-NeoX: no resid_mid recorded, and the run says so', async () => {
    const { result, reporter } = await run(pythia, 'pythia');
    assert.deepEqual(result.hooks, ['resid_pre', 'attn_out', 'mlp_out', 'resid_post']);
    assert.equal(result.sequences[0]!.norms.resid_mid, undefined);
    assert.equal(result.model.parallelResidual, true);
    assert.ok(
      reporter.messages.some((m) => /parallel attention and MLP: there is no resid_mid hook/.test(m)),
      reporter.messages.join('\n'),
    );
    assert.equal(result.model.architecture, 'gpt_neox');
    assert.equal(result.model.dtype, 'F16', 'the results file names the stored weight dtype');
    assert.equal(result.options.primaryMetric, 'centered');
    assert.equal(result.sequences[0]!.ids[0], 256, 'BOS from config.json is prepended');
    const worst = worstError(result, (ids) => referenceGptNeox(pythia.weights, pythia.config, ids));
    assert.ok(worst < 1e-4 && worst > 0, `max relative error ${worst}`);
    process.stdout.write(`# measure, gpt_neox F16, batched: max relative error ${worst.toExponential(2)}\n`);
  });

  it('refuses --hooks resid_mid for a parallel-residual model, saying why', async () => {
    await assert.rejects(
      run(pythia, 'pythia-mid', { hooks: ['resid_mid'] }),
      (error: unknown) => error instanceof UsageError && /parallel-residual blocks have no resid_mid/.test(error.message),
    );
  });

  it('Llama with grouped-query attention and BF16 weights: raw norm is primary, all five hooks', async () => {
    const { result } = await run(llama, 'llama');
    assert.deepEqual(result.hooks, ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
    assert.equal(result.model.dtype, 'BF16');
    assert.equal(result.model.normalization, 'rmsnorm');
    assert.equal(result.options.primaryMetric, 'raw');
    assert.match(result.options.primaryMetricReason!, /RMSNorm/);
    const worst = worstError(result, (ids) => referenceLlama(llama.weights, llama.config, ids));
    assert.ok(worst < 1e-4 && worst > 0, `max relative error ${worst}`);
    process.stdout.write(`# measure, llama GQA BF16, batched: max relative error ${worst.toExponential(2)}\n`);
  });
});
