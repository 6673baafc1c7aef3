/**
 * The Qwen3 adapter: what it reads of config.json (Qwen/Qwen3-0.6B's keys and Qwen3Config's
 * defaults), the per-head q/k norms in the description, the windows, what it refuses; and what
 * `weights` reports of the q/k norms.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { qwen3Adapter } from '../../src/architectures/qwen3.js';
import { ModelError } from '../../src/errors.js';
import { readBlockValues } from '../../src/weights/block-values.js';
import { computeLayerWeightNorms } from '../../src/weights/weight-norms.js';
import { editConfig, removeTensors } from '../support/tiny-model.js';
import { tinyQwen3Config, writeTinyQwen3 } from '../support/tiny-qwen3.js';

const l2 = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0));

describe('Qwen3 adapter', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-qwen3-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('per-head q/k norms before rotary, no q/k/v bias, head_dim from the config, untied unless the config ties', async () => {
    const tiny = await writeTinyQwen3(join(root, 'qwen3'), { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 16 });
    const { spec } = await loadModel(tiny.dir);
    assert.deepEqual(spec.dims, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, dHead: 16, dMlp: 48, dVocab: 257, nCtx: 64 });
    assert.deepEqual([spec.architecture, spec.normalization, spec.normPlacement, spec.convention.metric], ['qwen3', 'rmsnorm', 'pre', 'raw']);
    const attention = spec.blocks[1]!.attention;
    assert.equal(attention.qkNorm?.kind, 'per-head');
    assert.deepEqual(
      [attention.qkNorm?.q.weight?.tensor.name, attention.qkNorm?.q.weight?.tensor.shape, attention.qkNorm?.k.weight?.tensor.name],
      ['model.layers.1.self_attn.q_norm.weight', [16], 'model.layers.1.self_attn.k_norm.weight'],
    );
    assert.equal(attention.qkNorm?.q.eps, 1e-6);
    assert.ok(attention.qkv.kind === 'separate' && attention.qkv.q.bias === undefined && attention.out.bias === undefined);
    assert.deepEqual([attention.scale, attention.window, attention.rotary?.base, attention.rotary?.rotaryDims], [1 / 4, undefined, 1000000, 16]);
    assert.ok(!('unavailable' in spec.outputHead) && spec.outputHead.tied === false && spec.outputHead.unembedding.tensor.name === 'lm_head.weight');
    await editConfig(tiny.dir, { tie_word_embeddings: true });
    const tied = (await loadModel(tiny.dir)).spec.outputHead;
    assert.ok(!('unavailable' in tied) && tied.tied && tied.unembedding.tensor.name === 'model.embed_tokens.weight');
  });

  it('head_dim defaults to 128 as Qwen3Config does', () => {
    const { head_dim: _dim, ...withoutHeadDim } = tinyQwen3Config({ dModel: 32, nHeads: 4 });
    assert.equal(qwen3Adapter.readShape(withoutHeadDim, 'config.json').dims.dHead, 128);
  });

  it('sliding windows as Qwen3Config places them', async () => {
    const windows = async (name: string, options: Parameters<typeof writeTinyQwen3>[1]) =>
      (await loadModel((await writeTinyQwen3(join(root, name), options)).dir)).spec.blocks.map((block) => block.attention.window);
    assert.deepEqual(
      await windows('off', { nLayers: 3, extraConfig: { sliding_window: 4 } }),
      [undefined, undefined, undefined],
      'use_sliding_window false: no window',
    );
    assert.deepEqual(await windows('from', { nLayers: 3, slidingWindow: 4, maxWindowLayers: 1 }), [undefined, 4, 4]);
    assert.deepEqual(
      await windows('types', { nLayers: 3, slidingWindow: 5, extraConfig: { layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'] } }),
      [5, undefined, 5],
    );
    assert.deepEqual(
      await windows('types-off', { nLayers: 2, extraConfig: { layer_types: ['sliding_attention', 'full_attention'], sliding_window: 4 } }),
      [undefined, undefined],
      'layer_types without use_sliding_window: no window (sliding_window is None)',
    );
  });

  it('refuses partial rotary, an unsupported RoPE type and a missing k_norm, naming the key and value', async () => {
    assert.throws(
      () => qwen3Adapter.readShape(tinyQwen3Config({ extraConfig: { num_key_value_heads: 3 } }), 'config.json'),
      (error: Error) => error instanceof ModelError && /num_key_value_heads 3 does not divide num_attention_heads 4/.test(error.message),
    );
    const tiny = await writeTinyQwen3(join(root, 'refused'), { nLayers: 1 });
    await editConfig(tiny.dir, { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 }, partial_rotary_factor: 0.5 });
    await assert.rejects(loadModel(tiny.dir), (error: Error) => {
      assert.ok(error instanceof ModelError);
      for (const part of ['rope_scaling type "yarn" is not supported', 'partial rotary (8 of 16 head dimensions) is not supported for qwen3'])
        assert.ok(error.message.includes(part), `${part} in ${error.message}`);
      return true;
    });
    await editConfig(tiny.dir, { rope_scaling: null, partial_rotary_factor: undefined });
    await removeTensors(tiny.dir, ['model.layers.0.self_attn.k_norm.weight']);
    await assert.rejects(
      loadModel(tiny.dir),
      (error: Error) => error instanceof ModelError && /missing tensor "model\.layers\.0\.self_attn\.k_norm\.weight"/.test(error.message),
    );
  });

  it('weights: q_norm and k_norm gains reported in both variants (processing folds only the norms before a sub-block)', async () => {
    const tiny = await writeTinyQwen3(join(root, 'weights'), { nLayers: 1, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24 });
    const { spec } = await loadModel(tiny.dir);
    const { values } = await readBlockValues(spec.blocks[0]!);
    const layer = computeLayerWeightNorms(0, values, spec.dims, spec.convention.weightProcessing);
    const q = tiny.weights.get('layers.0.self_attn.q_norm.weight')!;
    const k = tiny.weights.get('layers.0.self_attn.k_norm.weight')!;
    for (const variant of ['raw', 'processed'] as const) {
      assert.ok(Math.abs(layer[variant]['q_norm.w']! - l2(q)) <= 1e-6 * l2(q), `${variant} q_norm.w`);
      assert.ok(Math.abs(layer[variant]['k_norm.w']! - l2(k)) <= 1e-6 * l2(k), `${variant} k_norm.w`);
      assert.ok(Math.abs(layer[variant]['q_norm.w_mean']! - q.reduce((a, b) => a + b, 0) / 8) < 1e-6, `${variant} q_norm.w_mean`);
    }
    assert.equal(layer.raw['ln1_post.w'], undefined, 'no post-sublayer norms');
  });
});
