/**
 * Every family the tool supports, from PyTorch checkpoints (.bin layouts as their Hub repos
 * ship them: one file or shards + index, zip or legacy, F32/F16/BF16, tied tensors, transposed
 * views that must be copied), against the plain-TypeScript reference: the same tolerance as
 * from safetensors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { maxRelativeErrorAgainst } from '../support/graph-agreement.js';
import { createRandom } from '../support/random.js';
import type { HookNorms } from '../support/reference-ops.js';
import { referenceGpt2 } from '../support/reference-gpt2.js';
import { referenceGptNeo } from '../support/reference-gpt-neo.js';
import { referenceGptNeox } from '../support/reference-gpt-neox.js';
import { referenceLlama } from '../support/reference-llama.js';
import { referenceOpt } from '../support/reference-opt.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import type { TinyModel } from '../support/tiny-model.js';
import { writeTinyOpt } from '../support/tiny-opt.js';
import { convertToPytorch, type PytorchLayout } from '../support/torch-model-folder.js';

const RELATIVE_TOLERANCE = 1e-4;

interface Case {
  family: string;
  write: (dir: string) => Promise<TinyModel>;
  reference: (tiny: TinyModel, ids: number[]) => HookNorms;
  layout: PytorchLayout;
  dtype: string;
}

const CASES: Case[] = [
  {
    family: 'gpt2 (legacy format, as openai-community/gpt2 of 2019; lm_head tied to wte)',
    write: (dir) => writeTinyGpt2(dir, { nLayers: 2, dModel: 32, nHeads: 4, seed: 3 }),
    reference: (tiny, ids) => referenceGpt2(tiny.weights, tiny.config, ids),
    layout: { format: 'legacy', tied: [['lm_head.weight', 'transformer.wte.weight']] },
    dtype: 'F32',
  },
  {
    family: 'gpt_neo (zip, F16, a transposed q_proj)',
    write: (dir) => writeTinyGptNeo(dir, { dModel: 32, nHeads: 4, windowSize: 3, dtype: 'F16', seed: 4 }),
    reference: (tiny, ids) => referenceGptNeo(tiny.weights, tiny.config, ids),
    layout: { transposed: ['transformer.h.1.attn.attention.q_proj.weight'] },
    dtype: 'F16',
  },
  {
    family: 'opt (zip, as facebook/opt-125m; a transposed fc1)',
    write: (dir) => writeTinyOpt(dir, { nLayers: 2, dModel: 32, nHeads: 4, seed: 5 }),
    reference: (tiny, ids) => referenceOpt(tiny.weights, tiny.config, ids),
    layout: { transposed: ['model.decoder.layers.0.fc1.weight'] },
    dtype: 'F32',
  },
  {
    family: 'gpt_neox (three zip shards + index, as pythia-12b; BF16, a transposed query_key_value)',
    write: (dir) => writeTinyGptNeox(dir, { nLayers: 2, dModel: 64, nHeads: 4, dtype: 'BF16', seed: 6 }),
    reference: (tiny, ids) => referenceGptNeox(tiny.weights, tiny.config, ids),
    layout: { shards: 3, transposed: ['gpt_neox.layers.0.attention.query_key_value.weight'] },
    dtype: 'BF16',
  },
  {
    family: 'llama (two legacy shards + index, F16, grouped-query attention, a transposed o_proj)',
    write: (dir) => writeTinyLlama(dir, { nLayers: 2, dModel: 64, nHeads: 4, nKvHeads: 2, dtype: 'F16', seed: 7 }),
    reference: (tiny, ids) => referenceLlama(tiny.weights, tiny.config, ids),
    layout: { format: 'legacy', shards: 2, transposed: ['model.layers.1.self_attn.o_proj.weight'] },
    dtype: 'F16',
  },
];

describe('every family from PyTorch checkpoints, against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-pytorch-families-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  CASES.forEach(({ family, write, reference, layout, dtype }, index) => {
    it(`${family}: every hook norm to ${RELATIVE_TOLERANCE}, one at a time and batched`, async () => {
      const tiny = await write(join(root, `case${index}`));
      await convertToPytorch(tiny.dir, layout);
      assert.deepEqual(
        (await readdir(tiny.dir)).filter((name) => name.endsWith('.safetensors')),
        [],
        'only PyTorch checkpoints are left',
      );
      const model = await loadModel(tiny.dir);
      assert.equal(model.weights.format, 'pytorch');
      assert.equal(model.spec.weightDtype, dtype);
      assert.equal(model.weights.copiedBytes > 0, (layout.transposed ?? []).length > 0, 'transposed views are copied, nothing else');
      const random = createRandom(300 + index);
      const vocab = Number(tiny.config.vocab_size);
      const prompts = [1, 9, 16].map((length) => Array.from({ length }, () => random.integer(vocab)));
      const worst = await maxRelativeErrorAgainst(tiny.dir, prompts, (ids) => reference(tiny, ids));
      assert.ok(worst < RELATIVE_TOLERANCE && worst > 0, `max relative error ${worst}`);
      process.stdout.write(`# ${family}: max relative error ${worst.toExponential(2)}\n`);
    });
  });
});
