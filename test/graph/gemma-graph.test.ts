/**
 * Gemma and Gemma 2 graphs against the independent float64 reference (reference-gemma.ts), at
 * every hook, layer and position, raw and centered, one prompt at a time and right-padded in a
 * batch, on prompts longer than every sliding window.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { availableHooks } from '../../src/graph/transformer-graph.js';
import { maxRelativeDifference, maxRelativeErrorAgainst } from '../support/graph-agreement.js';
import { createRandom } from '../support/random.js';
import { referenceGemma } from '../support/reference-gemma.js';
import { writeTinyGemma, type TinyGemmaOptions } from '../support/tiny-gemma.js';

const RELATIVE_TOLERANCE = 1e-4;

/** Seeded prompts of lengths 1, 8, 15 and 22: the longest is over 5× the sliding windows below. */
function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('Gemma and Gemma 2 graphs against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gemma-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyGemmaOptions }> = [
    {
      label: 'gemma: multi-query attention, head_dim 12 ≠ d_model/heads, hidden_act "gelu" run as tanh, tied',
      options: { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 1, headDim: 12 },
    },
    {
      label: 'gemma: grouped-query attention, attention biases, untied lm_head, GemmaModel keys',
      options: { nLayers: 3, dModel: 32, nHeads: 8, nKvHeads: 2, headDim: 8, attentionBias: true, untied: true, keys: 'base-model', seed: 3 },
    },
    {
      label: 'gemma2: the released defaults (soft-caps 50 and 30, window 4096, query_pre_attn_scalar = head_dim)',
      options: { modelType: 'gemma2', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 16, seed: 5 },
    },
    {
      label: 'gemma2: window 4 on layers 0 and 2, score soft-cap 1.5 that binds, query_pre_attn_scalar 20 ≠ head_dim',
      options: {
        modelType: 'gemma2',
        nLayers: 3,
        dModel: 32,
        nHeads: 4,
        nKvHeads: 2,
        headDim: 12,
        slidingWindow: 4,
        attnLogitSoftcapping: 1.5,
        queryPreAttnScalar: 20,
        scale: 0.5,
        seed: 7,
      },
    },
    {
      label: 'gemma2: layer_types [full, sliding, sliding] with window 3, soft-caps off (null)',
      options: {
        modelType: 'gemma2',
        nLayers: 3,
        nHeads: 2,
        nKvHeads: 1,
        headDim: 16,
        slidingWindow: 3,
        attnLogitSoftcapping: null,
        finalLogitSoftcapping: null,
        extraConfig: { layer_types: ['full_attention', 'sliding_attention', 'sliding_attention'] },
        seed: 9,
      },
    },
    {
      label: 'gemma2: BF16 weights',
      options: { modelType: 'gemma2', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, slidingWindow: 5, dtype: 'BF16', seed: 11 },
    },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyGemma(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(300 + index), (ids) => referenceGemma(tiny.weights, tiny.config, ids));
      assert.deepEqual(availableHooks(spec), ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
      assert.equal(spec.normPlacement, options.modelType === 'gemma2' ? 'sandwich' : 'pre');
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# ${spec.architecture} ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });

  it('the comparison can fail: without the soft-cap, the window or the post-sublayer norms the reference disagrees', async () => {
    const options = cases[3]!.options;
    const tiny = await writeTinyGemma(join(root, 'sensitivity'), options);
    const ids = makePrompts(1)[3]!;
    const base = referenceGemma(tiny.weights, tiny.config, ids);
    const without = (changes: Record<string, unknown>) => maxRelativeDifference(base, referenceGemma(tiny.weights, { ...tiny.config, ...changes }, ids));
    assert.ok(without({ attn_logit_softcapping: null }) > 1e-2, 'the score soft-cap matters here');
    assert.ok(without({ sliding_window: null }) > 1e-2, 'the window matters here');
    assert.ok(without({ model_type: 'gemma', hidden_activation: 'gelu_pytorch_tanh' }) > 1e-2, 'the post-sublayer norms matter');
    assert.ok(without({ hidden_activation: 'gelu' }) > 1e-5, 'the tanh approximation is not the exact GELU');
  });
});
