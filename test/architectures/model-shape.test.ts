/**
 * The config-only model shape: what readShape gives from config.json alone equals the shape of
 * the full description (loadModel refuses an adapter whose description drifts from it), and the
 * check names a description whose blocks disagree with the shape.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel, readConfig } from '../../src/architectures/load-model.js';
import { availableHooks, shapeOf, specProblems } from '../../src/architectures/model-shape.js';
import { adapterFor } from '../../src/architectures/registry.js';
import type { TransformerSpec } from '../../src/architectures/types.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';

describe('the model shape from config.json alone', () => {
  let root: string;
  let gpt2: TransformerSpec;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-shape-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('equals the shape of the full description, for sequential, parallel and RMSNorm models', async () => {
    const models = [
      await writeTinyGpt2(join(root, 'gpt2')),
      await writeTinyGptNeox(join(root, 'neox')),
      await writeTinyLlama(join(root, 'llama'), { modelType: 'qwen2' }),
    ];
    const shapes = [];
    for (const tiny of models) {
      const { config, path } = await readConfig(tiny.dir);
      const shape = adapterFor(config, path).readShape(config, path);
      const { spec } = await loadModel(tiny.dir);
      assert.deepEqual(shapeOf(spec), shape);
      shapes.push(shape);
      if (spec.architecture === 'gpt2') gpt2 = spec;
    }
    assert.deepEqual(
      shapes.map((shape) => [shape.architecture, shape.normalization, shape.normPlacement, shape.parallelResidual, shape.convention.metric]),
      [
        ['gpt2', 'layernorm', 'pre', false, 'centered'],
        ['gpt_neox', 'layernorm', 'pre', true, 'centered'],
        ['qwen2', 'rmsnorm', 'pre', false, 'raw'],
      ],
    );
    assert.deepEqual(availableHooks(shapes[1]!), ['resid_pre', 'attn_out', 'mlp_out', 'resid_post']);
    assert.deepEqual(availableHooks(shapes[0]!), ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
  });

  it('names every way a description can disagree with its shape', () => {
    assert.deepEqual(specProblems(gpt2, shapeOf(gpt2)), []);
    const block = gpt2.blocks[0]!;
    const { norm1: _norm1, ...withoutNorm1 } = block;
    const broken: TransformerSpec = {
      ...gpt2,
      blocks: [{ ...withoutNorm1, norm2Post: block.norm2! }, { ...block, norm2: { ...block.norm2!, kind: 'rmsnorm' } }, ...gpt2.blocks.slice(2)],
    };
    assert.deepEqual(specProblems(broken, shapeOf(gpt2)), [
      'block 0 lacks norm1 with pre norms',
      'block 0 has norm2Post with pre norms',
      "block 1's norm2 is rmsnorm in a layernorm model",
    ]);
    assert.match(specProblems({ ...gpt2, parallelResidual: true }, shapeOf(gpt2))[0]!, /^its shape .* differs from the config's/);
    assert.deepEqual(specProblems({ ...gpt2, blocks: gpt2.blocks.slice(1) }, { ...shapeOf(gpt2) }).slice(0, 1), [
      `it has ${gpt2.blocks.length - 1} blocks for ${gpt2.dims.nLayers} layers`,
    ]);
  });
});
