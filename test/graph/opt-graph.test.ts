import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { maxRelativeDifference, maxRelativeErrorAgainst } from '../support/graph-agreement.js';
import { createRandom } from '../support/random.js';
import { referenceOpt } from '../support/reference-opt.js';
import { writeTinyOpt, type TinyOptOptions } from '../support/tiny-opt.js';

const RELATIVE_TOLERANCE = 1e-4;

describe('OPT graph against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-opt-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const random = createRandom(23);
  // Up to the full context of 64 positions, so the last rows of the position table are used.
  const prompts = Array.from({ length: 4 }, (_, i) => Array.from({ length: [64, 1, 17, 9][i]! }, () => random.integer(264)));

  const cases: Array<{ name: string; options: TinyOptOptions }> = [
    { name: 'OPTForCausalLM keys (model.decoder.)', options: { nLayers: 2, dModel: 32, nHeads: 4 } },
    {
      name: 'OPTModel keys (decoder.), enable_bias false, ffn_dim 40',
      options: { keys: 'base-model', nLayers: 3, dModel: 24, nHeads: 3, dMlp: 40, enableBias: false, seed: 11 },
    },
    { name: 'F16 weights', options: { nLayers: 2, dModel: 16, nHeads: 2, dtype: 'F16', seed: 5 } },
  ];
  for (const { name, options } of cases) {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch (${name})`, async () => {
      const tiny = await writeTinyOpt(join(root, name.replace(/\W+/g, '_')), options);
      const worst = await maxRelativeErrorAgainst(tiny.dir, prompts, (ids) => referenceOpt(tiny.weights, tiny.config, ids));
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# opt ${name}: max relative error ${worst.toExponential(2)}\n`);

      // Reading position p from row p instead of p + 2 must show, or the offset is not tested.
      const effect = maxRelativeDifference(referenceOpt(tiny.weights, tiny.config, prompts[2]!), referenceOpt(tiny.weights, tiny.config, prompts[2]!, 0));
      assert.ok(effect > 1e-3, `the position offset changes the norms by only ${effect}`);
    });
  }
});
