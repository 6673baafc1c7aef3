/**
 * `mechanisms` and the MLP products of `weights` on tiny models of every supported architecture,
 * against the plain-TypeScript computations of test/support/reference-mechanisms.ts: the same
 * seeded inputs and tokens go through both, so what differs is float32 (ONNX Runtime) against
 * float64 (the reference).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chooseIndices, gaussianRows, randomSourceLayers } from '../../src/analysis/mechanism-sampling.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { analyzeMechanisms } from '../../src/commands/mechanisms.js';
import { analyzeWeights } from '../../src/commands/weights.js';
import type { SampleMean } from '../../src/results/mechanisms-schema.js';
import { createRandom } from '../support/random.js';
import type { HookNorms, Vectors } from '../support/reference-ops.js';
import { referenceGpt2 } from '../support/reference-gpt2.js';
import { referenceGptNeo } from '../support/reference-gpt-neo.js';
import { referenceGptNeox } from '../support/reference-gpt-neox.js';
import { referenceLlama } from '../support/reference-llama.js';
import { referenceOpt } from '../support/reference-opt.js';
import { activeFractions, referenceMlpProducts, referenceModel, referenceProbe, referenceRun, type Architecture } from '../support/reference-mechanisms.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { referenceGemma } from '../support/reference-gemma.js';
import { referenceOlmo } from '../support/reference-olmo.js';
import { referenceQwen3 } from '../support/reference-qwen3.js';
import { writeTinyGemma } from '../support/tiny-gemma.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { writeTinyOpt } from '../support/tiny-opt.js';
import { writeTinyOlmo } from '../support/tiny-olmo.js';
import { writeTinyQwen3 } from '../support/tiny-qwen3.js';
import { referenceGptj } from '../support/reference-gptj.js';
import { referencePhi } from '../support/reference-phi.js';
import { writeTinyGptj } from '../support/tiny-gptj.js';
import { writeTinyPhi } from '../support/tiny-phi.js';
import { referenceMixtral } from '../support/reference-mixtral.js';
import { writeTinyMixtral } from '../support/tiny-mixtral.js';
import type { TinyModel } from '../support/tiny-gpt2.js';

/** Norms: float32 sums over ≤ a few hundred terms against float64, as the graph tests allow. */
const NORM_TOLERANCE = 1e-4;
const SAMPLES = 24;
const SEED = 7;

interface Case {
  label: string;
  architecture: Architecture;
  write(dir: string): Promise<TinyModel>;
  forward(weights: Map<string, Float32Array>, config: Record<string, unknown>, ids: number[]): HookNorms;
}

const CASES: Case[] = [
  {
    label: 'GPT-2 (Conv1D, fused q/k/v, gelu_new)',
    architecture: 'gpt2',
    write: (dir) => writeTinyGpt2(dir, { nLayers: 3, dModel: 16, nHeads: 4, seed: 3 }),
    forward: referenceGpt2,
  },
  {
    label: 'GPT-2 with F16 weights',
    architecture: 'gpt2',
    write: (dir) => writeTinyGpt2(dir, { nLayers: 2, dModel: 16, nHeads: 2, dtype: 'F16', seed: 4 }),
    forward: referenceGpt2,
  },
  {
    label: 'GPT-Neo (global and local layers)',
    architecture: 'gpt_neo',
    write: (dir) => writeTinyGptNeo(dir, { attentionTypes: [[['global', 'local'], 1]], windowSize: 3, seed: 5 }),
    forward: referenceGptNeo,
  },
  { label: 'OPT (ReLU)', architecture: 'opt', write: (dir) => writeTinyOpt(dir, { nLayers: 2, seed: 6 }), forward: (w, c, ids) => referenceOpt(w, c, ids) },
  {
    label: 'GPT-NeoX, parallel residual (the MLP reads resid_pre)',
    architecture: 'gpt_neox',
    write: (dir) => writeTinyGptNeox(dir, { nLayers: 3, seed: 8 }),
    forward: referenceGptNeox,
  },
  {
    label: 'GPT-NeoX, sequential residual',
    architecture: 'gpt_neox',
    write: (dir) => writeTinyGptNeox(dir, { nLayers: 2, parallelResidual: false, seed: 9 }),
    forward: referenceGptNeox,
  },
  {
    label: 'Llama (RMSNorm, SwiGLU, grouped-query attention)',
    architecture: 'llama',
    write: (dir) => writeTinyLlama(dir, { nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, seed: 10 }),
    forward: referenceLlama,
  },
  {
    label: 'Llama with MLP biases',
    architecture: 'llama',
    write: (dir) => writeTinyLlama(dir, { nLayers: 2, dModel: 16, nHeads: 2, mlpBias: true, attentionBias: true, seed: 11 }),
    forward: referenceLlama,
  },
  {
    label: 'Gemma (1 + w gains, scaled embeddings, GeGLU, multi-query attention)',
    architecture: 'gemma',
    write: (dir) => writeTinyGemma(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24, seed: 12 }),
    forward: referenceGemma,
  },
  {
    label: 'OLMo (LayerNorms without parameters, clip_qkv that binds)',
    architecture: 'olmo',
    write: (dir) => writeTinyOlmo(dir, { nLayers: 2, dModel: 16, nHeads: 2, dMlp: 24, clipQkv: 0.4, seed: 15 }),
    forward: referenceOlmo,
  },
  {
    label: "OLMo-2 (norms on each sub-block's output only, q/k norms over the projections)",
    architecture: 'olmo2',
    write: (dir) => writeTinyOlmo(dir, { modelType: 'olmo2', nLayers: 2, dModel: 16, nHeads: 2, dMlp: 24, seed: 16 }),
    forward: referenceOlmo,
  },
  {
    label: 'Qwen3 (per-head q/k norms, a window)',
    architecture: 'qwen3',
    write: (dir) =>
      writeTinyQwen3(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24, slidingWindow: 3, maxWindowLayers: 1, seed: 14 }),
    forward: referenceQwen3,
  },
  {
    label: 'Phi (one LayerNorm, parallel block, grouped-query attention, biases)',
    architecture: 'phi',
    write: (dir) => writeTinyPhi(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, seed: 14 }),
    forward: referencePhi,
  },
  {
    label: 'Phi-3 (fused qkv_proj and gate_up_proj, a window)',
    architecture: 'phi3',
    write: (dir) => writeTinyPhi(dir, { modelType: 'phi3', nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, slidingWindow: 3, seed: 15 }),
    forward: referencePhi,
  },
  {
    label: 'GPT-J (one LayerNorm, parallel block, interleaved partial rotary)',
    architecture: 'gptj',
    write: (dir) => writeTinyGptj(dir, { nLayers: 2, dModel: 16, nHeads: 2, rotaryDim: 4, nInner: 24, seed: 16 }),
    forward: referenceGptj,
  },
  {
    label: 'Mixtral (top-2 of 4 experts: the MoE output, the router-weighted activation rate)',
    architecture: 'mixtral',
    write: (dir) => writeTinyMixtral(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, nExperts: 4, slidingWindow: 3, seed: 17 }),
    forward: referenceMixtral,
  },
  {
    label: 'Gemma 3 (q/k norms 1 + w, local layers of window 3 with their own rotary base)',
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
        seed: 17,
      }),
    forward: referenceGemma,
  },
  {
    label: 'Gemma 2 (post-sublayer norms, soft-caps, a window)',
    architecture: 'gemma2',
    write: (dir) =>
      writeTinyGemma(dir, {
        modelType: 'gemma2',
        nLayers: 2,
        dModel: 16,
        nHeads: 2,
        nKvHeads: 1,
        headDim: 8,
        dMlp: 24,
        slidingWindow: 3,
        attnLogitSoftcapping: 2,
        seed: 13,
      }),
    forward: referenceGemma,
  },
];

/** Seeded prompts of 1, 6, 9 and 13 token ids (the first has nothing after position 0). */
function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 6, 9, 13].map((length) => Array.from({ length }, () => 3 + random.integer(200)));
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function assertRelative(actual: number, expected: number, tolerance: number, label: string): void {
  const error = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  assert.ok(error <= tolerance, `${label}: ${actual} vs reference ${expected} (relative error ${error.toExponential(2)}, allowed ${tolerance})`);
}

function assertAbsolute(actual: number, expected: number, tolerance: number, label: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${label}: ${actual} vs reference ${expected} (allowed ±${tolerance})`);
}

describe('mechanisms on every architecture, against plain-TypeScript computations', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-mechanisms-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  for (const [index, testCase] of CASES.entries()) {
    it(testCase.label, async () => {
      const dir = join(root, `model-${index}`);
      const tiny = await testCase.write(dir);
      const prompts = makePrompts(100 + index);
      const promptsPath = join(root, `prompts-${index}.jsonl`);
      await writeFile(promptsPath, prompts.map((ids) => JSON.stringify({ ids })).join('\n'));
      const outPath = join(root, `out-${index}.mechanisms.json`);
      const { mechanisms: file } = await analyzeMechanisms(
        { model: dir, promptsPath, outPath, samples: SAMPLES, seed: SEED, batchSize: 2, prependBos: true, device: 'cpu', threads: 1, refresh: false },
        createSilentReporter(),
      );

      const model = referenceModel(testCase.architecture, tiny.weights, tiny.config);
      const nLayers = model.blocks.length;
      const d = model.d;
      const centered = model.normalization === 'layernorm';
      assert.equal(file.layers.length, nLayers);
      assert.equal(file.options.metric, centered ? 'centered' : 'raw');
      assert.equal(file.options.mlpInput, model.parallel ? 'resid_pre' : 'resid_mid');

      // The real prompts: every position but 0 of every prompt, in prompt order.
      const runs = prompts.map((ids) => referenceRun(model, () => testCase.forward(tiny.weights, tiny.config, ids)));
      const tokens: Array<{ run: number; position: number }> = [];
      runs.forEach((_, run) => prompts[run]!.forEach((_, position) => position > 0 && tokens.push({ run, position })));
      assert.equal(file.tokens.included, tokens.length);
      const resampled = Math.min(SAMPLES, tokens.length);
      assert.equal(file.tokens.resampled, resampled);
      const chosen = chooseIndices(SEED, tokens.length, resampled).map((i) => tokens[i]!);
      const sourceLayers = randomSourceLayers(SEED, nLayers);
      const gaussian = gaussianRows(SEED, SAMPLES, d);
      const randomInputs: Vectors = Array.from({ length: SAMPLES }, (_, i) => Float64Array.from(gaussian.subarray(i * d, (i + 1) * d)));
      const dMlp = (tiny.config.intermediate_size ?? tiny.config.ffn_dim ?? tiny.config.n_inner ?? 4 * d) as number;
      assert.ok(model.blocks[0]!.experts !== undefined || model.blocks[0]!.mlp(randomInputs.slice(0, 1)).pre![0]!.length === dMlp, 'the width of the MLP');

      for (let layer = 0; layer < nLayers; layer += 1) {
        const entry = file.layers[layer]!;
        const label = `layer ${layer}`;
        const metric = centered ? 'centered' : 'raw';
        const block = model.blocks[layer]!;
        // measured: norms of what the block writes, and the activation rate of every included token
        const attnOut = tokens.map(({ run, position }) => runs[run]!.norms.attn_out[metric][layer]![position]!);
        const mlpOut = tokens.map(({ run, position }) => runs[run]!.norms.mlp_out[metric][layer]![position]!);
        assertRelative(entry.measured.attn_out.mean, mean(attnOut), NORM_TOLERANCE, `${label} measured attn_out`);
        assertRelative(entry.measured.mlp_out.mean, mean(mlpOut), NORM_TOLERANCE, `${label} measured mlp_out`);
        const rates = tokens.map(({ run, position }) => activeFractions(block.mlp(block.norm2([runs[run]!.mlpInputs[layer]![position]!])))[0]!);
        // A pre-activation within float32 rounding of 0 may flip: allow two flips in all tokens.
        assertAbsolute(entry.measured.activationRate.mean, mean(rates), 2 / (dMlp * tokens.length), `${label} measured activation rate`);
        // Every included token: no sampling error; the prompts (3 hold a token) as clusters.
        const tokenPrompts = tokens.map(({ run }) => run);
        for (const [name, values] of [
          ['attn_out', attnOut],
          ['mlp_out', mlpOut],
        ] as const) {
          const measured = entry.measured[name];
          assert.deepEqual(
            [measured.stderr, measured.n, measured.population, measured.prompts],
            [0, tokens.length, tokens.length, 3],
            `${label} measured ${name}`,
          );
          assertRelative(measured.promptStderr!, clusterRobust(values, tokenPrompts), 1e-3, `${label} measured ${name}'s prompt-level error`);
        }

        // random inputs
        const random = referenceProbe(model, layer, randomInputs);
        assertRelative(entry.random.mlp_out.mean, mean(random.mlpNorm), NORM_TOLERANCE, `${label} random MLP norm`);
        assertRelative(entry.random.ov.mean, mean(random.ovNorm), NORM_TOLERANCE, `${label} random ΣW_OV norm`);
        assertAbsolute(entry.random.activationRate.mean, mean(random.active), 2 / (dMlp * SAMPLES), `${label} random activation rate`);
        assertStderr(entry.random.mlp_out, random.mlpNorm, `${label} random MLP norm`);

        // resampled MLP inputs: this layer's, and those of a random layer
        const inputsAt = (source: number) => chosen.map(({ run, position }) => runs[run]!.mlpInputs[source]![position]!);
        const same = referenceProbe(model, layer, inputsAt(layer));
        assertRelative(entry.sameLayer.mlp_out.mean, mean(same.mlpNorm), NORM_TOLERANCE, `${label} same-layer MLP norm`);
        // Drawn without replacement from the included tokens: the finite-population correction; the prompts they come from as clusters.
        const sampledPrompts = chosen.map(({ run }) => run);
        const fpc = Math.sqrt(1 - resampled / tokens.length);
        const sameStderr = entry.sameLayer.mlp_out.stderr!;
        assert.equal(entry.sameLayer.mlp_out.population, tokens.length);
        if (resampled === tokens.length) assert.equal(sameStderr, 0, `${label}: every token resampled, no sampling error`);
        else assertRelative(sameStderr, fpc * independentStderr(same.mlpNorm), 1e-3, `${label} same-layer MLP norm's sampling error`);
        assert.equal(entry.sameLayer.mlp_out.prompts, new Set(sampledPrompts).size);
        assertRelative(
          entry.sameLayer.mlp_out.promptStderr!,
          clusterRobust(same.mlpNorm, sampledPrompts),
          1e-3,
          `${label} same-layer MLP norm's prompt-level error`,
        );
        assertAbsolute(entry.sameLayer.activationRate.mean, mean(same.active), 2 / (dMlp * resampled), `${label} same-layer activation rate`);
        assert.equal(entry.randomLayer.sourceLayer, sourceLayers[layer]);
        const other = referenceProbe(model, layer, inputsAt(sourceLayers[layer]!));
        assertRelative(entry.randomLayer.mlp_out.mean, mean(other.mlpNorm), NORM_TOLERANCE, `${label} random-layer MLP norm`);
        assertAbsolute(entry.randomLayer.activationRate.mean, mean(other.active), 2 / (dMlp * resampled), `${label} random-layer activation rate`);
      }
      // The comparison can fail: layers differ by far more than the tolerance.
      const first = referenceProbe(model, 0, randomInputs);
      const second = referenceProbe(model, 1, randomInputs);
      const apart = Math.max(...first.mlpNorm.map((value, i) => Math.abs(value - second.mlpNorm[i]!) / value));
      assert.ok(apart > 100 * NORM_TOLERANCE, `layers 0 and 1 must be told apart (largest per-sample difference ${apart})`);
    });
  }

  it('every included token resampled: the resampled means have no sampling error and equal the measured ones, prompt-level error too', async () => {
    const dir = join(root, 'all-resampled');
    await writeTinyGpt2(dir, { nLayers: 2, dModel: 16, nHeads: 2, seed: 21 });
    const promptsPath = join(root, 'all-resampled.jsonl');
    await writeFile(
      promptsPath,
      makePrompts(300)
        .map((ids) => JSON.stringify({ ids }))
        .join('\n'),
    );
    const { mechanisms: file } = await analyzeMechanisms(
      {
        model: dir,
        promptsPath,
        outPath: join(root, 'all-resampled.mechanisms.json'),
        samples: 1000,
        seed: SEED,
        batchSize: 2,
        prependBos: true,
        device: 'cpu',
        threads: 1,
        refresh: false,
      },
      createSilentReporter(),
    );
    assert.equal(file.tokens.resampled, file.tokens.included);
    for (const entry of file.layers) {
      const [same, measured] = [entry.sameLayer.mlp_out, entry.measured.mlp_out];
      assert.equal(same.stderr, 0, `layer ${entry.layer}: every token drawn, no sampling error`);
      assert.equal(same.n, same.population);
      assertRelative(same.mean, measured.mean, NORM_TOLERANCE, `layer ${entry.layer}: the same tokens through the same MLP`);
      assertRelative(same.promptStderr!, measured.promptStderr!, 1e-3, `layer ${entry.layer}: the same prompts as clusters`);
    }
  });

  for (const [index, testCase] of CASES.entries()) {
    it(`weights: ‖W_in·W_out‖ and ‖b_in·W_out‖, ${testCase.label}`, async () => {
      const dir = join(root, `weights-${index}`);
      const tiny = await testCase.write(dir);
      const { weights } = await analyzeWeights({ model: dir, outPath: join(root, `weights-${index}.json`), refresh: false }, createSilentReporter());
      const model = referenceModel(testCase.architecture, tiny.weights, tiny.config);
      for (const layer of weights.layers) {
        const expected = referenceMlpProducts(model, layer.layer);
        for (const variant of ['raw', 'processed'] as const) {
          const label = `layer ${layer.layer} ${variant}`;
          assertRelative(layer[variant].W_inW_out!, expected[variant].W_inW_out, NORM_TOLERANCE, `${label} W_in·W_out`);
          const bias = expected[variant].b_inW_out;
          if (bias === null) assert.equal(layer[variant].b_inW_out, null, `${label} b_in·W_out`);
          else assertRelative(layer[variant].b_inW_out!, bias, NORM_TOLERANCE, `${label} b_in·W_out`);
        }
      }
    });
  }
});

/** Sample standard deviation (ddof 1) over √n. */
function independentStderr(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1)) / Math.sqrt(values.length);
}

/** CR1 with the prompts as clusters, as a regression on a constant: √(C/(C−1)·Σ_c (Σ_{i∈c} (y_i − ȳ))²) / n. */
function clusterRobust(values: readonly number[], prompts: readonly number[]): number {
  const m = mean(values);
  const ids = [...new Set(prompts)];
  const meat = ids.reduce((sum, id) => sum + values.reduce((s, v, i) => s + (prompts[i] === id ? v - m : 0), 0) ** 2, 0);
  return Math.sqrt((ids.length / (ids.length - 1)) * meat) / values.length;
}

/** The random inputs' standard error: independent samples, sample standard deviation over √n. */
function assertStderr(actual: SampleMean, values: readonly number[], label: string): void {
  assert.equal(actual.n, values.length, `${label} n`);
  assertRelative(actual.stderr!, independentStderr(values), 1e-3, `${label} standard error`);
}
