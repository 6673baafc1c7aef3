/**
 * Gemma 3 (text) graphs against the independent float64 reference (reference-gemma.ts), at every
 * hook, layer and position, raw and centered, one prompt at a time and right-padded in a batch,
 * on prompts longer than every sliding window, with local and global layers of their own rotary
 * bases.
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

describe('Gemma 3 graphs against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gemma3-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const gemma3 = (options: TinyGemmaOptions): TinyGemmaOptions => ({ modelType: 'gemma3_text', ...options });
  const cases: Array<{ label: string; options: TinyGemmaOptions }> = [
    {
      label: 'the released layout: 5 local layers (window 4, base 10000) then a global one (base 1e6), per-head q/k norms 1 + w, GQA, tied',
      options: gemma3({ nLayers: 7, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 8, slidingWindow: 4 }),
    },
    {
      label: 'sliding_window_pattern 2, local base 100, global base 1e4 with linear rope_scaling 4, binding soft-caps, MQA, untied, Gemma3TextModel keys',
      options: gemma3({
        nLayers: 4,
        dModel: 32,
        nHeads: 4,
        nKvHeads: 1,
        headDim: 12,
        slidingWindow: 3,
        slidingWindowPattern: 2,
        ropeLocalBaseFreq: 100,
        ropeTheta: 10000,
        attnLogitSoftcapping: 2,
        finalLogitSoftcapping: 3,
        untied: true,
        keys: 'base-model',
        scale: 0.5,
        seed: 3,
        extraConfig: { rope_scaling: { rope_type: 'linear', factor: 4 } },
      }),
    },
    {
      label: "transformers 5's rope_parameters by layer type, layer_types [full, sliding, sliding], query_pre_attn_scalar 20, attention biases, BF16",
      options: gemma3({
        nLayers: 3,
        dModel: 32,
        nHeads: 2,
        nKvHeads: 2,
        headDim: 16,
        slidingWindow: 5,
        queryPreAttnScalar: 20,
        attentionBias: true,
        dtype: 'BF16',
        seed: 5,
        extraConfig: {
          layer_types: ['full_attention', 'sliding_attention', 'sliding_attention'],
          rope_theta: undefined,
          rope_local_base_freq: undefined,
          rope_parameters: {
            full_attention: { rope_type: 'linear', factor: 2, rope_theta: 500000 },
            sliding_attention: { rope_type: 'default', rope_theta: 50 },
          },
        },
      }),
    },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyGemma(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(600 + index), (ids) => referenceGemma(tiny.weights, tiny.config, ids));
      assert.deepEqual(availableHooks(spec), ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
      assert.deepEqual([spec.architecture, spec.normPlacement], ['gemma3_text', 'sandwich']);
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# gemma3_text ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });

  it('the comparison can fail: without the q/k norms, the local base or the windows the reference disagrees', async () => {
    const tiny = await writeTinyGemma(join(root, 'sensitivity'), cases[1]!.options);
    const ids = makePrompts(1)[3]!;
    const base = referenceGemma(tiny.weights, tiny.config, ids);
    const without = (changes: Record<string, unknown>) => maxRelativeDifference(base, referenceGemma(tiny.weights, { ...tiny.config, ...changes }, ids));
    const zeroQNorm = new Map([...tiny.weights].map(([key, value]) => [key, key.endsWith('q_norm.weight') ? value.map(() => 0) : value]));
    assert.ok(maxRelativeDifference(base, referenceGemma(zeroQNorm, tiny.config, ids)) > 1e-3, 'the q norm gains (1 + w) matter here');
    assert.ok(without({ rope_local_base_freq: 10000 }) > 1e-3, 'the local base matters here');
    assert.ok(without({ rope_scaling: null }) > 1e-3, "the global layers' scaling matters here");
    assert.ok(without({ sliding_window: null }) > 1e-3, 'the window matters here');
  });
});
