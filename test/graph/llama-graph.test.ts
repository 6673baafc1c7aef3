import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { availableHooks } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { maxRelativeErrorAgainst } from '../support/graph-agreement.js';
import { createRandom } from '../support/random.js';
import { referenceLlama } from '../support/reference-llama.js';
import { writeTinyLlama, type TinyLlamaOptions } from '../support/tiny-llama.js';

const RELATIVE_TOLERANCE = 1e-4;

/** Seeded prompts of lengths 1, 8, 15 and 22, compared one at a time and as a padded batch. */
function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('Llama-layout graph against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-llama-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyLlamaOptions }> = [
    { label: 'llama, multi-head attention, untied lm_head', options: { nLayers: 2, dModel: 32, nHeads: 4 } },
    { label: 'llama, grouped-query attention (8 query heads, 2 kv heads)', options: { nLayers: 3, dModel: 64, nHeads: 8, nKvHeads: 2, dMlp: 96, seed: 3 } },
    {
      label: 'llama, head_dim 12 ≠ d_model/heads, attention and MLP biases, LlamaModel keys',
      options: { dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 12, attentionBias: true, mlpBias: true, keys: 'base-model', seed: 5 },
    },
    {
      label: 'llama, linear rope scaling in rope_parameters, tied embeddings',
      options: { nHeads: 2, ropeTheta: 500, ropeConfig: 'rope-parameters', rope: { rope_type: 'linear', factor: 4 }, tied: true, seed: 7 },
    },
    {
      label: 'llama, llama3 rope scaling (low, medium and high frequencies)',
      options: {
        dModel: 32,
        nHeads: 2,
        ropeTheta: 100,
        rope: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 },
        seed: 9,
      },
    },
    { label: 'mistral, sliding window 5', options: { modelType: 'mistral', nHeads: 4, nKvHeads: 2, extraConfig: { sliding_window: 5 }, seed: 11 } },
    {
      label: 'qwen2, q/k/v biases, sliding window 4 from layer 1',
      options: {
        modelType: 'qwen2',
        nLayers: 3,
        nHeads: 4,
        nKvHeads: 1,
        extraConfig: { use_sliding_window: true, sliding_window: 4, max_window_layers: 1 },
        seed: 13,
      },
    },
    { label: 'F16 weights, grouped-query attention', options: { nLayers: 2, dModel: 64, nHeads: 4, nKvHeads: 2, dtype: 'F16', seed: 15 } },
    { label: 'BF16 weights, grouped-query attention', options: { nLayers: 2, dModel: 64, nHeads: 4, nKvHeads: 2, dtype: 'BF16', seed: 17 } },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyLlama(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const hooks = availableHooks(spec);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(200 + index), (ids) => referenceLlama(tiny.weights, tiny.config, ids));
      assert.deepEqual(hooks, ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
      assert.equal(spec.normalization, 'rmsnorm');
      assert.equal(spec.weightDtype, options.dtype ?? 'F32');
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# ${spec.architecture} ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });
});
