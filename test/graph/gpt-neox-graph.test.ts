import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { availableHooks } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { maxRelativeErrorAgainst } from '../support/graph-agreement.js';
import { createRandom } from '../support/random.js';
import { referenceGptNeox } from '../support/reference-gpt-neox.js';
import { writeTinyGptNeox, type TinyGptNeoxOptions } from '../support/tiny-gpt-neox.js';

const RELATIVE_TOLERANCE = 1e-4;

/** Seeded prompts of lengths 1, 8, 15 and 22, compared one at a time and as a padded batch. */
function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 8, 15, 22].map((length) => Array.from({ length }, () => random.integer(257)));
}

describe('GPT-NeoX graph against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-neox-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases: Array<{ label: string; options: TinyGptNeoxOptions }> = [
    { label: 'Pythia layout: parallel residual, rotary on 1/4 of each head, checkpoint buffers', options: { nLayers: 2, dModel: 64, nHeads: 4 } },
    {
      label: 'sequential residual, full rotary, GPTNeoXModel keys',
      options: { nLayers: 2, dModel: 32, nHeads: 2, rotaryPct: 1, parallelResidual: false, keys: 'base-model', seed: 3 },
    },
    {
      label: 'rope_parameters config, half rotary, no attention biases',
      options: { nLayers: 3, dModel: 48, nHeads: 3, rotaryPct: 0.5, ropeConfig: 'rope-parameters', attentionBias: false, seed: 5 },
    },
    {
      label: 'linear rope scaling, gelu_new, base 500',
      options: {
        nLayers: 2,
        dModel: 32,
        nHeads: 4,
        rotaryPct: 0.5,
        rotaryBase: 500,
        ropeScaling: { type: 'linear', factor: 3 },
        activation: 'gelu_new',
        seed: 9,
      },
    },
    { label: 'F16 weights, parallel', options: { nLayers: 2, dModel: 64, nHeads: 4, dtype: 'F16', seed: 11 } },
    { label: 'BF16 weights, sequential', options: { nLayers: 2, dModel: 64, nHeads: 8, rotaryPct: 0.5, parallelResidual: false, dtype: 'BF16', seed: 13 } },
  ];
  cases.forEach(({ label, options }, index) => {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch: ${label}`, async () => {
      const tiny = await writeTinyGptNeox(join(root, `case${index}`), options);
      const { spec } = await loadModel(tiny.dir);
      const hooks = availableHooks(spec);
      const worst = await maxRelativeErrorAgainst(tiny.dir, makePrompts(100 + index), (ids) => referenceGptNeox(tiny.weights, tiny.config, ids));
      const parallel = options.parallelResidual !== false;
      assert.equal(spec.parallelResidual, parallel);
      assert.equal(hooks.includes('resid_mid'), !parallel, 'resid_mid exists exactly for sequential blocks');
      assert.equal(spec.weightDtype, options.dtype ?? 'F32');
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# gpt_neox ${label}: max relative error ${worst.toExponential(2)}\n`);
    });
  });
});
