/**
 * Qwen3 graphs against the independent float64 reference (reference-qwen3.ts), at every hook,
 * layer and position, raw and centered, one prompt at a time and right-padded in a batch, on
 * prompts longer than every sliding window.
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
import { referenceQwen3 } from '../support/reference-qwen3.js';
import { writeTinyQwen3, type TinyQwen3Options } from '../support/tiny-qwen3.js';

const RELATIVE_TOLERANCE = 1e-4;

/** Seeded prompts of lengths 1, 8, 15 and 22: the longest is over 5× the sliding windows below. */
function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('Qwen3 graphs against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-qwen3-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyQwen3Options }> = [
    {
      label: 'the released layout: per-head q/k norms, grouped-query attention, head_dim 16 ≠ d_model/heads, no window, untied',
      options: { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 16 },
    },
    {
      label: 'tied embeddings, multi-query attention, Qwen3Model keys',
      options: { nLayers: 2, dModel: 24, nHeads: 3, nKvHeads: 1, headDim: 8, tied: true, keys: 'base-model', seed: 3 },
    },
    {
      label: 'use_sliding_window with window 4 from max_window_layers 1 on, attention_bias',
      options: { nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 8, slidingWindow: 4, maxWindowLayers: 1, attentionBias: true, scale: 0.4, seed: 5 },
    },
    {
      label: 'layer_types [sliding, full, sliding] with window 3, BF16 weights',
      options: {
        nLayers: 3,
        nHeads: 2,
        nKvHeads: 2,
        headDim: 16,
        slidingWindow: 3,
        extraConfig: { layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'] },
        dtype: 'BF16',
        seed: 9,
      },
    },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyQwen3(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(400 + index), (ids) => referenceQwen3(tiny.weights, tiny.config, ids));
      assert.deepEqual(availableHooks(spec), ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# qwen3 ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });

  it('the comparison can fail: without the q/k norms or the window the reference disagrees', async () => {
    const options = cases[2]!.options;
    const tiny = await writeTinyQwen3(join(root, 'sensitivity'), options);
    const ids = makePrompts(1)[3]!;
    const base = referenceQwen3(tiny.weights, tiny.config, ids);
    const ones = (name: string) => new Map([...tiny.weights].map(([key, value]) => [key, key.endsWith(name) ? value.map(() => 1) : value]));
    assert.ok(maxRelativeDifference(base, referenceQwen3(ones('q_norm.weight'), tiny.config, ids)) > 1e-3, 'the q norm gains matter here');
    assert.ok(maxRelativeDifference(base, referenceQwen3(tiny.weights, { ...tiny.config, use_sliding_window: false }, ids)) > 1e-3, 'the window matters here');
  });
});
