import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../../src/errors.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { removeTensors } from '../support/tiny-model.js';
import { writeTinyOpt } from '../support/tiny-opt.js';

describe('OPT adapter', () => {
  let root: string;
  let model: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-opt-adapter-'));
    model = (await writeTinyOpt(join(root, 'tiny'), { nLayers: 2, dModel: 32, nHeads: 4, nCtx: 64 })).dir;
  });
  after(async () => rm(root, { recursive: true, force: true }));

  /** A copy of the tiny model, changed by `change`. */
  const variant = async (name: string, change: (dir: string) => Promise<void>): Promise<string> => {
    const dir = join(root, name);
    await cp(model, dir, { recursive: true });
    await change(dir);
    return dir;
  };
  const editConfig = (edit: Record<string, unknown>) => async (dir: string) => {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, ...edit }));
  };
  const refusal = async (dir: string, message: RegExp): Promise<void> => {
    await assert.rejects(loadModel(dir), (error: unknown) => {
      assert.ok(error instanceof ModelError, String(error));
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /\n/, 'one line');
      return true;
    });
  };

  it('describes the model: offset-2 positions, q scaled by 1/√dHead, biases, relu, BOS 2', async () => {
    const { spec, adapter } = await loadModel(model);
    assert.equal(adapter.name, 'opt');
    assert.equal(spec.architecture, 'opt');
    assert.deepEqual(spec.positionEmbedding?.weight.tensor.shape, [66, 32]);
    assert.equal(spec.positionEmbedding?.offset, 2);
    assert.equal(spec.positionEmbedding?.weight.tensor.name, 'model.decoder.embed_positions.weight');
    assert.equal(spec.bosTokenId, 2);
    const block = spec.blocks[1]!;
    assert.equal(block.attention.scale, 1 / Math.sqrt(8));
    assert.equal(block.attention.window, undefined);
    assert.equal(block.norm2?.weight?.tensor.name, 'model.decoder.layers.1.final_layer_norm.weight');
    assert.equal(block.mlp.kind === 'dense' && block.mlp.activation, 'relu');
    assert.equal(block.attention.qkv.kind === 'separate' && block.attention.qkv.q.bias?.tensor.name, 'model.decoder.layers.1.self_attn.q_proj.bias');
  });

  it('refuses post-LayerNorm OPT (do_layer_norm_before: false, as opt-350m)', async () => {
    await refusal(
      await variant('post-ln', editConfig({ do_layer_norm_before: false })),
      /do_layer_norm_before is false \(post-LayerNorm OPT, e\.g\. opt-350m\), which is not supported/,
    );
  });

  it('refuses project_in/project_out (word_embed_proj_dim ≠ hidden_size), and reports both problems of opt-350m at once', async () => {
    await refusal(await variant('project-in', editConfig({ word_embed_proj_dim: 16 })), /word_embed_proj_dim 16 differs from hidden_size 32/);
    await refusal(
      await variant('opt-350m-like', editConfig({ word_embed_proj_dim: 16, do_layer_norm_before: false })),
      /do_layer_norm_before is false.*; word_embed_proj_dim 16 differs/,
    );
  });

  it('refuses LayerNorms without gain and bias', async () => {
    await refusal(await variant('no-affine', editConfig({ layer_norm_elementwise_affine: false })), /layer_norm_elementwise_affine is false/);
  });

  it('names missing and misshapen tensors', async () => {
    await refusal(
      await variant('missing', (dir) => removeTensors(dir, ['model.decoder.layers.1.fc2.bias', 'model.decoder.layers.0.self_attn.k_proj.weight'])),
      /missing tensor "model\.decoder\.layers\.0\.self_attn\.k_proj\.weight"; missing tensor "model\.decoder\.layers\.1\.fc2\.bias"/,
    );
    // A position table without the two offset rows does not fit max_position_embeddings.
    await refusal(
      await variant('short-positions', editConfig({ max_position_embeddings: 66 })),
      /"model\.decoder\.embed_positions\.weight" has shape \[66, 32\]; expected \[68, 32\]/,
    );
  });

  it('reads the biases only when enable_bias is true', async () => {
    const dir = await variant('no-bias-flag', editConfig({ enable_bias: false }));
    const { spec } = await loadModel(dir);
    const block = spec.blocks[0]!;
    assert.equal(block.attention.out.bias, undefined);
    assert.equal(block.mlp.kind === 'dense' && block.mlp.in.bias, undefined);
  });
});
