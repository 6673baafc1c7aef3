/**
 * `measure --diagnostics` (every diagnostic, the logit lens included) end to end on a tiny model
 * of each of the ten families of issue 28: the command resolves the folder, checks the flags
 * against config.json, runs right-padded batches of prompts longer than every sliding window, and
 * writes Parquet; the values read back from the tables must equal the family's float64 reference
 * (the same references as test/graph/*-graph.test.ts) at every hook, layer and position, raw and
 * centered, and in every diagnostic column. The graph-level tests cover each family's variants;
 * this one covers the path from a model folder to the tables.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { measure } from '../../src/commands/measure.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { DIAGNOSTICS, diagnosticColumns } from '../../src/results/diagnostics.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { measureOf } from '../support/diagnostics-agreement.js';
import { readMeasured } from '../support/measured.js';
import { createRandom } from '../support/random.js';
import { maxMargin, referenceDiagnostics, referenceSequenceDiagnostics } from '../support/reference-diagnostics.js';
import { referenceGemma, referenceGemmaHead } from '../support/reference-gemma.js';
import { referenceGptj, referenceGptjHead } from '../support/reference-gptj.js';
import { referenceLens } from '../support/reference-lens.js';
import { referenceMixtral, referenceMixtralHead } from '../support/reference-mixtral.js';
import type { BlockTrace, HookNorms, ReferenceHead } from '../support/reference-ops.js';
import { referenceOlmo, referenceOlmoHead } from '../support/reference-olmo.js';
import { referencePhi, referencePhiHead } from '../support/reference-phi.js';
import { referenceQwen3, referenceQwen3Head } from '../support/reference-qwen3.js';
import type { TinyModel } from '../support/tiny-model.js';
import { writeTinyGemma } from '../support/tiny-gemma.js';
import { writeTinyGptj } from '../support/tiny-gptj.js';
import { writeTinyMixtral } from '../support/tiny-mixtral.js';
import { writeTinyOlmo } from '../support/tiny-olmo.js';
import { writeTinyPhi } from '../support/tiny-phi.js';
import { writeTinyQwen3 } from '../support/tiny-qwen3.js';

type Row = Record<string, unknown>;
type Forward = (weights: Map<string, Float32Array>, config: Record<string, unknown>, ids: number[], trace?: BlockTrace[]) => HookNorms;

/** Norms relative; diagnostics as diagnostics-graph.test.ts states them (bounded values absolute, magnitudes relative, the entropy against ≥ 0.01 nats). */
const NORM_TOLERANCE = 1e-4;
const TOLERANCE = { absolute: 1e-5, relative: 1e-4 } as const;
const ENTROPY_TOLERANCE = 5e-5;
/** Every sliding window below is at most 4 keys; the longest prompt is 14 tokens. */
const LENGTHS = [1, 6, 11, 14];

interface Family {
  architecture: string;
  write: (dir: string) => Promise<TinyModel>;
  forward: Forward;
  head: (weights: Map<string, Float32Array>, config: Record<string, unknown>) => ReferenceHead;
  parallel?: boolean;
}

const FAMILIES: Family[] = [
  {
    architecture: 'gemma',
    write: (dir) => writeTinyGemma(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24, seed: 31 }),
    forward: referenceGemma,
    head: referenceGemmaHead,
  },
  {
    architecture: 'gemma2',
    write: (dir) =>
      writeTinyGemma(dir, {
        modelType: 'gemma2',
        nLayers: 3,
        dModel: 16,
        nHeads: 2,
        nKvHeads: 1,
        headDim: 8,
        dMlp: 24,
        slidingWindow: 4,
        attnLogitSoftcapping: 1.5,
        finalLogitSoftcapping: 2,
        seed: 32,
      }),
    forward: referenceGemma,
    head: referenceGemmaHead,
  },
  {
    architecture: 'gemma3_text',
    write: (dir) =>
      writeTinyGemma(dir, {
        modelType: 'gemma3_text',
        nLayers: 3,
        dModel: 16,
        nHeads: 2,
        nKvHeads: 1,
        headDim: 8,
        dMlp: 24,
        slidingWindow: 3,
        slidingWindowPattern: 3,
        ropeLocalBaseFreq: 100,
        seed: 33,
      }),
    forward: referenceGemma,
    head: referenceGemmaHead,
  },
  {
    architecture: 'qwen3',
    write: (dir) =>
      writeTinyQwen3(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24, slidingWindow: 4, maxWindowLayers: 1, seed: 34 }),
    forward: referenceQwen3,
    head: referenceQwen3Head,
  },
  {
    architecture: 'phi',
    write: (dir) => writeTinyPhi(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, seed: 35 }),
    forward: referencePhi,
    head: referencePhiHead,
    parallel: true,
  },
  {
    architecture: 'phi3',
    write: (dir) => writeTinyPhi(dir, { modelType: 'phi3', nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, slidingWindow: 4, seed: 36 }),
    forward: referencePhi,
    head: referencePhiHead,
  },
  {
    architecture: 'olmo',
    write: (dir) => writeTinyOlmo(dir, { nLayers: 2, dModel: 16, nHeads: 2, dMlp: 24, clipQkv: 0.5, seed: 37 }),
    forward: referenceOlmo,
    head: referenceOlmoHead,
  },
  {
    architecture: 'olmo2',
    write: (dir) => writeTinyOlmo(dir, { modelType: 'olmo2', nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, seed: 38 }),
    forward: referenceOlmo,
    head: referenceOlmoHead,
  },
  {
    architecture: 'gptj',
    write: (dir) => writeTinyGptj(dir, { nLayers: 2, dModel: 16, nHeads: 2, rotaryDim: 4, nInner: 24, seed: 39 }),
    forward: referenceGptj,
    head: referenceGptjHead,
    parallel: true,
  },
  {
    architecture: 'mixtral',
    write: (dir) => writeTinyMixtral(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, nExperts: 4, slidingWindow: 4, seed: 40 }),
    forward: referenceMixtral,
    head: referenceMixtralHead,
  },
];

async function tableRows(path: string): Promise<Row[]> {
  return (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Row[];
}

describe('measure --diagnostics on every modern family, from the model folder to the tables, against the float64 references', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-measure-families-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  for (const [index, family] of FAMILIES.entries()) {
    it(`${family.architecture}: every hook (raw and centered) to ${NORM_TOLERANCE}, every diagnostic column, in padded batches of 3`, async () => {
      const dir = join(root, family.architecture);
      const tiny = await family.write(join(dir, 'model'));
      const random = createRandom(700 + index);
      const prompts = LENGTHS.map((length) => Array.from({ length }, () => random.integer(256)));
      const promptsPath = join(dir, 'prompts.jsonl');
      await writeFile(promptsPath, prompts.map((ids) => JSON.stringify({ ids })).join('\n'));
      const outPath = join(dir, 'results.json');
      const selection = { diagnostics: [...DIAGNOSTICS], massiveDims: [3] };
      await measure(
        { model: tiny.dir, promptsPath, outPath, batchSize: 3, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false, ...selection },
        createSilentReporter(),
      );

      const measured = await readMeasured(outPath);
      assert.deepEqual([measured.model.architecture, measured.model.nLayers], [family.architecture, tiny.config.num_hidden_layers ?? tiny.config.n_layer]);
      assert.equal(
        measured.options.primaryMetric,
        measured.model.normalization === 'layernorm' ? 'centered' : 'raw',
        'LayerNorm models: centered; RMSNorm ones: raw',
      );
      assert.deepEqual(
        measured.hooks,
        family.parallel ? ['resid_pre', 'attn_out', 'mlp_out', 'resid_post'] : ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'],
      );
      assert.deepEqual(
        measured.sequences.map((sequence) => sequence.ids),
        prompts,
        'token ids are measured as given',
      );

      const shape = {
        nLayers: measured.model.nLayers,
        nHeads: measured.model.nHeads,
        dModel: measured.model.dModel,
        parallelResidual: family.parallel === true,
      };
      const columns = diagnosticColumns(selection, shape);
      const rows = await tableRows(tablePaths(outPath).tokens);
      const promptRows = await tableRows(tablePaths(outPath).prompts);
      let worstNorm = 0;
      let worstDiagnostic = 0;
      let compared = 0;
      for (const [prompt, ids] of prompts.entries()) {
        const trace: BlockTrace[] = [];
        const reference = family.forward(tiny.weights, tiny.config, ids, trace);
        const sequence = measured.sequences[prompt]!;
        for (const hook of measured.hooks) {
          for (const [table, metric] of [
            [sequence.norms, 'centered'],
            [sequence.rawNorms, 'raw'],
          ] as const) {
            table[hook]!.forEach((row, layer) =>
              row.forEach((value, position) => {
                const expected = reference[hook][metric][layer]![position]!;
                worstNorm = Math.max(worstNorm, Math.abs(value - expected) / expected);
              }),
            );
          }
        }
        const lens = referenceLens(trace, family.head(tiny.weights, tiny.config), ids);
        const expected = referenceDiagnostics(trace, selection, shape, lens);
        const ofPrompt = rows.filter((row) => row.prompt === prompt);
        assert.equal(ofPrompt.length, ids.length);
        for (const column of columns) {
          ofPrompt.forEach((row, position) => {
            (row[column.name] as number[]).forEach((value, i) => {
              const want = expected.get(column.name)![position]![i]!;
              compared += 1;
              if (column.name === 'lens_next_rank')
                assert.ok(
                  Math.abs(value - want) <= lens.nearTies[position]![i]!,
                  `lens_next_rank of prompt ${prompt}, position ${position}, stream ${i}: ${value} vs ${want}`,
                );
              else if (column.name === 'massive_dim')
                assert.ok(
                  maxMargin(trace[i]!.residPost[position]!) <= 1e-3 || value === want,
                  `massive_dim of prompt ${prompt}, position ${position}, layer ${i}: ${value} vs ${want}`,
                );
              else if (column.name === 'lens_entropy')
                worstDiagnostic = Math.max(worstDiagnostic, Math.abs(value - want) / Math.max(want, 0.01) / ENTROPY_TOLERANCE);
              else {
                const measure = measureOf(column.name) === 'absolute' ? 'absolute' : 'relative';
                const difference = measure === 'absolute' ? Math.abs(value - want) : Math.abs(value - want) / Math.max(Math.abs(want), 1e-6);
                worstDiagnostic = Math.max(worstDiagnostic, difference / TOLERANCE[measure]);
              }
            });
          });
        }
        // Sun et al.'s per-sequence statistics (the prompts table): padding never enters them.
        const promptRow = promptRows.find((row) => row.prompt === prompt)!;
        for (const [name, values] of referenceSequenceDiagnostics(trace, selection, shape)) {
          values.forEach((want, layer) => {
            const value = (promptRow[name] as number[])[layer]!;
            compared += 1;
            if (name === 'massive_seq_count') assert.equal(value, want, `${name} of prompt ${prompt}, layer ${layer}`);
            else worstDiagnostic = Math.max(worstDiagnostic, Math.abs(value - want) / Math.max(Math.abs(want), 1e-6) / TOLERANCE.relative);
          });
        }
      }
      assert.ok(worstNorm < NORM_TOLERANCE, `max relative error of the norms ${worstNorm}`);
      assert.ok(worstNorm > 0, 'float32 tables vs float64 reference cannot agree exactly; zero means nothing was compared');
      assert.ok(compared > 500 && worstDiagnostic < 1, `largest diagnostic difference ${worstDiagnostic} of its tolerance over ${compared} values`);
      process.stdout.write(
        `# measure ${family.architecture}: norms max relative error ${worstNorm.toExponential(2)}; diagnostics at most ${worstDiagnostic.toExponential(1)} of their tolerance over ${compared} values\n`,
      );
    });
  }
});
