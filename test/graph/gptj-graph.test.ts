/**
 * GPT-J graphs against the independent float64 reference (reference-gptj.ts), at every hook,
 * layer and position, raw and centered, one prompt at a time and right-padded in a batch.
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
import { referenceGptj } from '../support/reference-gptj.js';
import { writeTinyGptj, type TinyGptjOptions } from '../support/tiny-gptj.js';

const RELATIVE_TOLERANCE = 1e-4;

function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('GPT-J graphs against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gptj-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyGptjOptions }> = [
    { label: 'rotary_dim 8 of 16 (interleaved pairs), one LayerNorm, parallel block', options: { nLayers: 2, dModel: 32, nHeads: 2 } },
    {
      label: 'rotary_dim 4 of 8, n_inner 40, GPTJModel keys',
      options: { nLayers: 3, dModel: 32, nHeads: 4, rotaryDim: 4, nInner: 40, keys: 'base-model', seed: 3 },
    },
    {
      label: 'rotary over whole heads (rotary_dim = head_dim), F16 weights',
      options: { nLayers: 2, dModel: 32, nHeads: 4, rotaryDim: 8, dtype: 'F16', seed: 5 },
    },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyGptj(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(400 + index), (ids) => referenceGptj(tiny.weights, tiny.config, ids));
      assert.deepEqual(availableHooks(spec), ['resid_pre', 'attn_out', 'mlp_out', 'resid_post']);
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# gptj ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });

  it('the comparison can fail: a whole-head rotary gives other norms (the pairing itself: description-fields.test.ts)', async () => {
    const tiny = await writeTinyGptj(join(root, 'sensitivity'), cases[0]!.options);
    const ids = makePrompts(1)[3]!;
    const base = referenceGptj(tiny.weights, tiny.config, ids);
    assert.ok(maxRelativeDifference(base, referenceGptj(tiny.weights, { ...tiny.config, rotary_dim: 16 }, ids)) > 1e-3, 'rotary_dim matters');
  });
});
