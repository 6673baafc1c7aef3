import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { maxRelativeDifference, maxRelativeErrorAgainst } from '../support/graph-agreement.js';
import { createRandom } from '../support/random.js';
import { referenceGptNeo } from '../support/reference-gpt-neo.js';
import { expandTypes, writeTinyGptNeo, type TinyGptNeoOptions } from '../support/tiny-gpt-neo.js';

const RELATIVE_TOLERANCE = 1e-4;

describe('GPT-Neo graph against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gpt-neo-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const random = createRandom(17);
  // Lengths 1…30, most longer than the local windows (1, 3, 5).
  const prompts = Array.from({ length: 5 }, (_, i) => Array.from({ length: [30, 1, 12, 7, 23][i]! }, () => random.integer(257)));

  const cases: Array<{ name: string; options: TinyGptNeoOptions }> = [
    { name: 'GPTNeoForCausalLM keys with mask buffers, global/local ×2, window 5', options: { dModel: 32, nHeads: 4, windowSize: 5 } },
    {
      name: 'GPTNeoModel keys, local/global/local, window 1, intermediate_size 40',
      options: {
        keys: 'base-model',
        dModel: 24,
        nHeads: 3,
        dMlp: 40,
        windowSize: 1,
        attentionTypes: [
          [['local'], 1],
          [['global', 'local'], 1],
        ],
        seed: 11,
      },
    },
    { name: 'F16 weights, window 3, exact gelu', options: { dModel: 16, nHeads: 2, windowSize: 3, activation: 'gelu', dtype: 'F16', seed: 5 } },
    { name: 'BF16 weights, all local, window 4', options: { dModel: 16, nHeads: 4, windowSize: 4, attentionTypes: [[['local'], 2]], dtype: 'BF16', seed: 9 } },
  ];
  for (const { name, options } of cases) {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE}, one prompt at a time and right-padded in a batch (${name})`, async () => {
      const tiny = await writeTinyGptNeo(join(root, name.replace(/\W+/g, '_')), options);
      const worst = await maxRelativeErrorAgainst(tiny.dir, prompts, (ids) => referenceGptNeo(tiny.weights, tiny.config, ids));
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# gpt_neo ${name}: max relative error ${worst.toExponential(2)}\n`);

      // The local layers must matter for these prompts, or the comparison would not test them.
      const layers = expandTypes(tiny.config.attention_types as Array<[string[], number]>).length;
      const allGlobal = { ...tiny.config, attention_types: [[['global'], layers]] };
      const effect = maxRelativeDifference(referenceGptNeo(tiny.weights, tiny.config, prompts[0]!), referenceGptNeo(tiny.weights, allGlobal, prompts[0]!));
      assert.ok(effect > 1e-3, `local attention changes the norms by only ${effect}`);
    });
  }
});
