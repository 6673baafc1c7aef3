/**
 * Phi (Phi-2) and Phi-3 graphs against the independent float64 reference (reference-phi.ts), at
 * every hook, layer and position, raw and centered, one prompt at a time and right-padded in a
 * batch, on prompts longer than the sliding windows.
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
import { referencePhi } from '../support/reference-phi.js';
import { writeTinyPhi, type TinyPhiOptions } from '../support/tiny-phi.js';

const RELATIVE_TOLERANCE = 1e-4;
/** Six rotated pairs (head_dim 16 × 0.75 = 12 features); the long factors are never reached (prompts ≤ 64 tokens). */
const LONG_ROPE = { shortFactor: [1, 1.3, 2.1, 3.5, 6, 11], longFactor: [1, 2, 4, 8, 16, 32], originalContext: 64 };

/** Seeded prompts of lengths 1, 8, 15 and 22: the longest is over 5× the sliding windows below. */
function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('Phi and Phi-3 graphs against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-phi-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyPhiOptions }> = [
    { label: 'phi: one LayerNorm, parallel block, partial rotary 0.5 (4 of 8), biases everywhere', options: { nLayers: 2, dModel: 32, nHeads: 4 } },
    {
      label: "phi: Phi-2's partial_rotary_factor 0.4 (4 of 10), grouped-query attention, PhiModel keys",
      options: { nLayers: 3, dModel: 40, nHeads: 4, nKvHeads: 2, partialRotaryFactor: 0.4, keys: 'base-model', seed: 3 },
    },
    {
      label: "phi: qk_layernorm (each head's queries and keys LayerNorm'd before rotary)",
      options: { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, qkLayernorm: true, seed: 4 },
    },
    {
      label: 'phi3: fused qkv_proj and gate_up_proj, grouped-query attention, sliding window 4',
      options: { modelType: 'phi3', nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, slidingWindow: 4, seed: 5 },
    },
    {
      label: "phi3: no window, Phi-4-mini's partial_rotary_factor 0.75, tied (no lm_head)",
      options: { modelType: 'phi3', nLayers: 2, dModel: 32, nHeads: 2, dMlp: 40, partialRotaryFactor: 0.75, tied: true, seed: 7 },
    },
    {
      label: "phi3: LongRoPE (Phi-3.5-mini's rope_scaling) with partial rotary 0.75: short factors and the attention factor √(1 + ln 4 / ln 64)",
      options: {
        modelType: 'phi3',
        nLayers: 2,
        dModel: 32,
        nHeads: 2,
        nKvHeads: 1,
        dMlp: 40,
        nCtx: 256,
        partialRotaryFactor: 0.75,
        slidingWindow: 6,
        longRope: LONG_ROPE,
        seed: 8,
      },
    },
    { label: 'phi3: BF16 weights', options: { modelType: 'phi3', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 1, slidingWindow: 5, dtype: 'BF16', seed: 9 } },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyPhi(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(300 + index), (ids) => referencePhi(tiny.weights, tiny.config, ids));
      const phi3 = options.modelType === 'phi3';
      assert.deepEqual(
        availableHooks(spec),
        phi3 ? ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'] : ['resid_pre', 'attn_out', 'mlp_out', 'resid_post'],
      );
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# ${spec.architecture} ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });

  it('the comparison can fail: the rotary fraction, the q/k norms, the window, LongRoPE and the gate/up order change the reference', async () => {
    const phi = await writeTinyPhi(join(root, 'sensitivity-phi'), cases[1]!.options);
    const phi3 = await writeTinyPhi(join(root, 'sensitivity-phi3'), cases[3]!.options);
    const ids = makePrompts(1)[3]!;
    const differs = (tiny: typeof phi, changes: Record<string, unknown>, weights = tiny.weights) =>
      maxRelativeDifference(referencePhi(tiny.weights, tiny.config, ids), referencePhi(weights, { ...tiny.config, ...changes }, ids));
    assert.ok(differs(phi, { partial_rotary_factor: 1 }) > 1e-3, 'partial rotary matters');
    const qkNormed = await writeTinyPhi(join(root, 'sensitivity-qk'), cases[2]!.options);
    assert.ok(differs(qkNormed, { qk_layernorm: false }) > 1e-3, 'the q/k LayerNorms matter');
    assert.ok(differs(phi3, { sliding_window: null }) > 1e-3, 'the window matters');
    const longRoped = await writeTinyPhi(join(root, 'sensitivity-longrope'), cases[5]!.options);
    assert.ok(differs(longRoped, { rope_scaling: null }) > 1e-3, 'LongRoPE matters');
    assert.ok(
      differs(longRoped, { rope_scaling: { ...(longRoped.config.rope_scaling as object), attention_factor: 1 } }) > 1e-3,
      'its attention factor matters',
    );
    // gate_up_proj with its halves swapped: the model would be another one.
    const swapped = new Map(phi3.weights);
    for (let layer = 0; layer < 3; layer += 1) {
      const name = `layers.${layer}.mlp.gate_up_proj.weight`;
      const stored = phi3.weights.get(name)!;
      const half = stored.length / 2;
      swapped.set(
        name,
        Float32Array.from({ length: stored.length }, (_, i) => stored[(i + half) % stored.length]!),
      );
    }
    assert.ok(differs(phi3, {}, swapped) > 1e-3, 'which half is the gate matters');
  });
});
