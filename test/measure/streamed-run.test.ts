/**
 * measure under a memory budget too small for the whole graph (src/measure/memory-plan.ts,
 * streamed-run.ts): the model runs one block at a time, a batch a few rows at a time, a chunk of
 * batches at a time, and gives the whole graph's norms and diagnostics (and the reference's), for
 * a sequential and a parallel-residual family; it resumes when interrupted; a budget below the
 * minimum is refused naming the smallest that works, which then works; progress names the chunk
 * and block.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { InterruptedError } from '../../src/errors.js';
import { BudgetTooSmallError } from '../../src/measure/memory-plan.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import type { Diagnostic } from '../../src/results/diagnostics.js';
import type { HookName } from '../../src/vocabulary/hooks.js';
import { measureOf } from '../support/diagnostics-agreement.js';
import { readMeasured, readTokenRows } from '../support/measured.js';
import { readMeasurementFile } from '../../src/store/open-results.js';
import { referenceGptNeox } from '../support/reference-gpt-neox.js';
import { referenceLlama } from '../support/reference-llama.js';
import type { HookNorms } from '../support/reference-ops.js';
import { assertSameTables, interruptAfter } from '../support/run-comparison.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { referenceMixtral } from '../support/reference-mixtral.js';
import { referencePhi } from '../support/reference-phi.js';
import { writeTinyMixtral } from '../support/tiny-mixtral.js';
import { writeTinyPhi } from '../support/tiny-phi.js';
import type { TinyModel } from '../support/tiny-model.js';

const DIAGNOSTICS: Diagnostic[] = ['cosines', 'massive', 'massive-median', 'massive-sequence', 'sinks', 'heads', 'lens'];
const N_LAYERS = 4;

/** The smallest budget the refusal names ("give --max-memory 168MB or more"), in bytes. */
function namedMinimum(error: BudgetTooSmallError): number {
  const match = /give --max-memory (\d+(?:\.\d+)?)(kB|MB|GB)/.exec(error.message);
  assert.ok(match, error.message);
  return Number(match[1]) * { kB: 1e3, MB: 1e6, GB: 1e9 }[match[2] as 'kB' | 'MB' | 'GB'];
}

describe('measure --max-memory: block by block when the whole graph would not fit', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-streamed-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const families = [
    {
      label: 'llama (sequential, BF16, grouped-query attention)',
      write: (at: string) => writeTinyLlama(at, { nLayers: N_LAYERS, dModel: 192, nHeads: 4, nKvHeads: 2, dMlp: 384, dtype: 'BF16', scale: 0.08 }),
      reference: (tiny: TinyModel, ids: number[]) => referenceLlama(tiny.weights, tiny.config, ids),
    },
    {
      label: 'gpt_neox (parallel residual, F32)',
      write: (at: string) => writeTinyGptNeox(at, { nLayers: N_LAYERS, dModel: 192, nHeads: 4, scale: 0.08 }),
      reference: (tiny: TinyModel, ids: number[]) => referenceGptNeox(tiny.weights, tiny.config, ids),
    },
    {
      label: 'phi3 (fused qkv_proj and gate_up_proj fed as weight inputs, BF16)',
      write: (at: string) =>
        writeTinyPhi(at, {
          modelType: 'phi3',
          nLayers: N_LAYERS,
          dModel: 192,
          nHeads: 4,
          nKvHeads: 2,
          dMlp: 384,
          slidingWindow: 9,
          dtype: 'BF16',
          scale: 0.08,
        }),
      reference: (tiny: TinyModel, ids: number[]) => referencePhi(tiny.weights, tiny.config, ids),
    },
    {
      label: 'mixtral (a mixture of 4 experts, top 2)',
      write: (at: string) => writeTinyMixtral(at, { nLayers: N_LAYERS, dModel: 128, nHeads: 4, nKvHeads: 2, dMlp: 128, nExperts: 4, scale: 0.08 }),
      reference: (tiny: TinyModel, ids: number[]) => referenceMixtral(tiny.weights, tiny.config, ids),
    },
  ];
  for (const [index, family] of families.entries()) {
    it(`equals the whole graph and the reference: ${family.label}`, async () => {
      const tiny = await family.write(join(dir, `model${index}`));
      const prompts = Array.from({ length: 7 }, (_, i) => Array.from({ length: 4 + 3 * i }, (_, p) => (i * 31 + p * 17 + 5) % 256));
      const promptsPath = join(dir, `prompts${index}.jsonl`);
      await writeFile(promptsPath, prompts.map((ids) => JSON.stringify({ ids })).join('\n'));
      const base: MeasureRequest = {
        model: tiny.dir,
        promptsPath,
        batchSize: 3,
        prependBos: true,
        exclusions: true,
        device: 'cpu',
        threads: 1,
        refresh: false,
        diagnostics: DIAGNOSTICS,
        prepackWeights: false,
        chunkTokens: 40,
      };

      // The budget the refusal names is enough: it is the smallest, so every batch runs a row at a time.
      let minimum = 0;
      await assert.rejects(
        measure({ ...base, outPath: join(dir, `refused${index}.json`), maxMemory: { bytes: 1e6, source: '--max-memory' } }, createSilentReporter()),
        (error: unknown) => {
          assert.ok(error instanceof BudgetTooSmallError, String(error));
          assert.match(
            error.message,
            /^--max-memory \(1 MB\) is too small for this model: one block's float32 weights \(.*\), the logit lens's final norm and unembedding .*need at least .*; give --max-memory \S+ or more/,
          );
          minimum = namedMinimum(error);
          return true;
        },
      );
      const reporter = createSilentReporter();
      const streamedPath = join(dir, `streamed${index}.json`);
      await measure({ ...base, outPath: streamedPath, maxMemory: { bytes: minimum, source: '--max-memory' } }, reporter);
      assert.ok(
        reporter.messages.some((m) => /running it block by block, [2-9] chunks of batches, \d+ batch(es)? 1 row at a time/.test(m)),
        `streamed in several chunks, rows one at a time: ${reporter.messages.join('\n')}`,
      );
      const wholePath = join(dir, `whole${index}.json`);
      const wholeReporter = createSilentReporter();
      await measure({ ...base, outPath: wholePath, maxMemory: { bytes: 64e9, source: '--max-memory' } }, wholeReporter);
      assert.ok(!wholeReporter.messages.some((m) => /block by block/.test(m)), 'a budget that fits runs the whole graph');

      // Norms: the same as the whole graph's (≤ 1e-6 relative), and as the float64 reference's (≤ 1e-4).
      const [streamed, whole] = [await readMeasured(streamedPath), await readMeasured(wholePath)];
      let versusWhole = 0;
      let versusReference = 0;
      streamed.sequences.forEach((sequence, s) => {
        const expected: HookNorms = family.reference(tiny, sequence.ids);
        for (const hook of streamed.hooks as HookName[]) {
          for (const [metric, table] of [
            ['centered', sequence.norms[hook]!],
            ['raw', sequence.rawNorms[hook]!],
          ] as const) {
            table.forEach((row, layer) =>
              row.forEach((value, position) => {
                const other = (metric === 'centered' ? whole.sequences[s]!.norms : whole.sequences[s]!.rawNorms)[hook]![layer]![position]!;
                versusWhole = Math.max(versusWhole, Math.abs(value - other) / Math.abs(other));
                const reference = expected[hook][metric][layer]![position]!;
                versusReference = Math.max(versusReference, Math.abs(value - reference) / Math.abs(reference));
              }),
            );
          }
        }
      });
      assert.ok(versusWhole <= 1e-6, `streamed norms differ from the whole graph's by ${versusWhole}`);
      assert.ok(versusReference < 1e-4, `streamed norms differ from the reference by ${versusReference}`);
      for (const metric of ['raw', 'centered'] as const) {
        for (const [hook, rows] of Object.entries(whole.summaries[metric])) {
          rows.forEach((row, layer) => {
            const mine = streamed.summaries[metric][hook as HookName]![layer]!;
            for (const key of ['mean', 'median', 'q05', 'q95', 'std'] as const)
              assert.ok(Math.abs(mine[key] - row[key]) <= 1e-6 * Math.abs(row[key]), `${metric} ${hook} layer ${layer} ${key}`);
          });
        }
      }

      // Diagnostics, lens included (its final norm and unembedding applied to every stream): as the whole graph's.
      const [streamedRows, wholeRows] = [
        await readTokenRows(await readMeasurementFile(streamedPath)),
        await readTokenRows(await readMeasurementFile(wholePath)),
      ];
      let compared = 0;
      let worst = 0;
      for (const [r, row] of wholeRows.entries()) {
        for (const [name, value] of Object.entries(row)) {
          if (!/^(cos_|massive_|sink_|head_|lens_)/.test(name)) continue;
          (value as number[]).forEach((want, i) => {
            const got = (streamedRows[r]![name] as number[])[i]!;
            const measure = measureOf(name);
            const difference =
              measure === 'mismatches'
                ? got === want
                  ? 0
                  : 1
                : measure === 'absolute'
                  ? Math.abs(got - want) / 1e-6
                  : Math.abs(got - want) / Math.max(Math.abs(want), name === 'lens_entropy' ? 0.01 : 1e-6) / 1e-5;
            worst = Math.max(worst, difference);
            compared += 1;
          });
        }
      }
      assert.ok(compared > 2000 && worst < 1, `diagnostics differ from the whole graph's by ${worst} of the tolerance over ${compared} values`);
      assert.deepEqual(Object.keys(streamedRows[0]!), Object.keys(wholeRows[0]!), 'the same columns');
    });
  }

  it('resumes an interrupted streamed run to the same tables, the chunk in flight measured again', async () => {
    const tiny = await writeTinyLlama(join(dir, 'resume-model'), { nLayers: N_LAYERS, dModel: 192, nHeads: 4, dMlp: 384 });
    const promptsPath = join(dir, 'resume.txt');
    await writeFile(promptsPath, Array.from({ length: 6 }, (_, i) => `prompt ${i} ${'and more '.repeat(i)}`).join('\n'));
    const base: MeasureRequest = {
      model: tiny.dir,
      promptsPath,
      batchSize: 1,
      prependBos: true,
      exclusions: true,
      device: 'cpu',
      threads: 1,
      refresh: false,
      hooks: ['resid_pre', 'mlp_out'],
      chunkTokens: 1,
    };
    let minimum = 0;
    await assert.rejects(
      measure({ ...base, outPath: join(dir, 'resume-refused.json'), maxMemory: { bytes: 1e6, source: '--max-memory' } }, createSilentReporter()),
      (error: unknown) => {
        minimum = namedMinimum(error as BudgetTooSmallError);
        return true;
      },
    );
    const request = { ...base, maxMemory: { bytes: minimum, source: '--max-memory' } };
    const outPath = join(dir, 'resumed.json');
    const controller = new AbortController();
    // Progress counts a batch's tokens once per block: abort in the second chunk's blocks.
    await assert.rejects(measure({ ...request, outPath, signal: controller.signal }, interruptAfter(N_LAYERS + 1, controller)), (error: unknown) => {
      assert.ok(error instanceof InterruptedError);
      assert.match(error.message, /interrupted after 1 of 6 batches; they are saved in .*\(the 1 batch of the chunk in flight will be measured again\)/);
      return true;
    });
    const reporter = createSilentReporter();
    await measure({ ...request, outPath }, reporter);
    assert.ok(
      reporter.messages.some((m) => /resuming: 1 of 6 batches are done/.test(m)),
      reporter.messages.join('\n'),
    );
    await measure({ ...request, outPath: join(dir, 'uninterrupted.json') }, createSilentReporter());
    await assertSameTables(outPath, join(dir, 'uninterrupted.json'));
    assert.equal((await readMeasured(outPath)).runtime.resumedBatches, 1);

    // Progress says where the run is: every chunk's embeddings, then each of its blocks in order, ticking each batch once per block.
    const notes: string[] = [];
    let ticked = 0;
    const watching = { tick: (amount = 1) => void (ticked += amount), note: (text: string) => void notes.push(text), done: () => undefined };
    const watched = {
      ...createSilentReporter(),
      progress: (label: string) => (label === 'measuring (tokens × blocks)' ? watching : { tick: () => undefined, done: () => undefined }),
    };
    const measured = await measure({ ...request, outPath: join(dir, 'watched.json') }, watched);
    const expected = Array.from({ length: 6 }, (_, c) => [
      `chunk ${c + 1}/6, embeddings`,
      ...Array.from({ length: N_LAYERS }, (_, l) => `chunk ${c + 1}/6, block ${l + 1}/${N_LAYERS}`),
    ]).flat();
    assert.deepEqual(notes, expected);
    assert.equal(ticked, N_LAYERS * measured.measurement.runtime.tokens);
  });
});
