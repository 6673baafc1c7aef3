/**
 * Mixtral graphs against the independent float64 reference (reference-mixtral.ts), at every
 * hook, layer and position, raw and centered, one prompt at a time and right-padded in a
 * batch, on prompts longer than the sliding window; with experts that no token of a prompt
 * chooses (a one-token prompt uses 2 of 8).
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
import { referenceMixtral, referenceMoe } from '../support/reference-mixtral.js';
import { rmsNorm } from '../support/reference-ops.js';
import { writeTinyMixtral, type TinyMixtralOptions } from '../support/tiny-mixtral.js';

const RELATIVE_TOLERANCE = 1e-4;

function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('Mixtral graphs against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-mixtral-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyMixtralOptions }> = [
    { label: 'top-2 of 4 experts, grouped-query attention, no window (the released config)', options: { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2 } },
    {
      label: 'top-2 of 8 experts, sliding window 4, MixtralModel keys',
      options: { nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 1, nExperts: 8, slidingWindow: 4, keys: 'base-model', seed: 3 },
    },
    {
      label: 'top-3 of 5 experts, rope_theta 10000, BF16 weights',
      options: { nLayers: 2, dModel: 32, nHeads: 2, nExperts: 5, topK: 3, ropeTheta: 10000, dtype: 'BF16', seed: 5 },
    },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyMixtral(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(500 + index), (ids) => referenceMixtral(tiny.weights, tiny.config, ids));
      assert.deepEqual(availableHooks(spec), ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# mixtral ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });

  it('the comparison can fail, and the tiny models route: every expert but a few is chosen somewhere, the top k and the window matter (normalizeTopK: description-fields.test.ts)', async () => {
    const tiny = await writeTinyMixtral(join(root, 'sensitivity'), cases[1]!.options);
    const ids = makePrompts(1)[3]!;
    const h = rmsNorm(
      ids.map((id) => Float64Array.from(tiny.weights.get('embed_tokens.weight')!.subarray(id * 32, (id + 1) * 32))),
      tiny.weights.get('layers.0.post_attention_layernorm.weight')!,
      1e-5,
    );
    const routed = referenceMoe(tiny.weights, tiny.config, 'layers.0', h);
    const used = new Set(routed.weights.flatMap((row) => row.flatMap((weight, e) => (weight > 0 ? [e] : []))));
    assert.ok(used.size >= 6, `the router spreads 22 tokens over ${used.size} of 8 experts`);
    const base = referenceMixtral(tiny.weights, tiny.config, ids);
    assert.ok(maxRelativeDifference(base, referenceMixtral(tiny.weights, { ...tiny.config, num_experts_per_tok: 1 }, ids)) > 1e-2, 'top-1 differs from top-2');
    assert.ok(maxRelativeDifference(base, referenceMixtral(tiny.weights, { ...tiny.config, sliding_window: null }, ids)) > 1e-3, 'the window matters');
  });
});
