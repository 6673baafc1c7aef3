/**
 * OLMo and OLMo-2 graphs against the independent float64 reference (reference-olmo.ts), at every
 * hook, layer and position, raw and centered, one prompt at a time and right-padded in a batch.
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
import { referenceOlmo } from '../support/reference-olmo.js';
import { writeTinyOlmo, type TinyOlmoOptions } from '../support/tiny-olmo.js';

const RELATIVE_TOLERANCE = 1e-4;

function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('OLMo and OLMo-2 graphs against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-olmo-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyOlmoOptions }> = [
    { label: 'olmo: LayerNorms without parameters, tied, no clip (OLMo-1B-hf)', options: { nLayers: 2, dModel: 32, nHeads: 4, tied: true } },
    {
      label: 'olmo: clip_qkv 0.3 that binds, grouped-query attention, attention biases, untied',
      options: { nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 2, clipQkv: 0.3, attentionBias: true, scale: 0.4, seed: 3 },
    },
    { label: 'olmo: OlmoModel keys, BF16 weights', options: { nLayers: 2, dModel: 24, nHeads: 3, keys: 'base-model', dtype: 'BF16', seed: 5 } },
    {
      label: "olmo2: norms on each sub-block's output, q/k norms over the whole projections, untied",
      options: { modelType: 'olmo2', nLayers: 3, dModel: 32, nHeads: 4, seed: 7 },
    },
    {
      label: 'olmo2: grouped-query attention (k_norm over kv heads · head_dim), tied, Olmo2Model keys',
      options: { modelType: 'olmo2', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, tied: true, keys: 'base-model', seed: 9 },
    },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyOlmo(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(500 + index), (ids) => referenceOlmo(tiny.weights, tiny.config, ids));
      assert.deepEqual(availableHooks(spec), ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
      assert.equal(spec.normPlacement, options.modelType === 'olmo2' ? 'post' : 'pre');
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# ${spec.architecture} ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });

  it('the comparison can fail: without the clip, the q/k norms or the post-sublayer norms the reference disagrees', async () => {
    const ids = makePrompts(1)[3]!;
    const olmo = await writeTinyOlmo(join(root, 'sensitivity-olmo'), cases[1]!.options);
    assert.ok(
      maxRelativeDifference(referenceOlmo(olmo.weights, olmo.config, ids), referenceOlmo(olmo.weights, { ...olmo.config, clip_qkv: null }, ids)) > 1e-2,
      'the clip binds here',
    );
    const olmo2 = await writeTinyOlmo(join(root, 'sensitivity-olmo2'), cases[3]!.options);
    const base = referenceOlmo(olmo2.weights, olmo2.config, ids);
    const ones = (suffix: string) => new Map([...olmo2.weights].map(([key, value]) => [key, key.endsWith(suffix) ? value.map(() => 1) : value]));
    assert.ok(maxRelativeDifference(base, referenceOlmo(ones('q_norm.weight'), olmo2.config, ids)) > 1e-3, 'the q norm gains matter');
    assert.ok(
      maxRelativeDifference(base, referenceOlmo(ones('post_feedforward_layernorm.weight'), olmo2.config, ids)) > 1e-3,
      'the post-feedforward gains matter',
    );
  });
});
