/**
 * The OLMo and OLMo-2 adapters: what they read of config.json (OLMo-1B-hf's and
 * OLMo-2-0425-1B's keys, the configuration classes' defaults), what they make of the
 * parameter-free LayerNorm, clip_qkv, the post-sublayer norms and the q/k norms over whole
 * projections, what they refuse; and what `weights` reports of them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { olmoAdapter } from '../../src/architectures/olmo.js';
import { ModelError } from '../../src/errors.js';
import { lensHeadInfo } from '../../src/measure/diagnostics-selection.js';
import { readBlockValues } from '../../src/weights/block-values.js';
import { computeLayerWeightNorms } from '../../src/weights/weight-norms.js';
import { editConfig } from '../support/tiny-model.js';
import { tinyOlmoConfig, writeTinyOlmo } from '../support/tiny-olmo.js';

const l2 = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0));
const close = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(Math.abs(actual! - expected) <= 1e-6 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);

describe('OLMo and OLMo-2 adapters', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-olmo-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('olmo: LayerNorms without weight or bias (eps 1e-5), clip_qkv on the attention, centered metric, tied when the config ties', async () => {
    const tiny = await writeTinyOlmo(join(root, 'olmo'), { nLayers: 2, dModel: 32, nHeads: 4, clipQkv: 8, tied: true });
    const { spec } = await loadModel(tiny.dir);
    assert.deepEqual([spec.architecture, spec.normalization, spec.normPlacement, spec.convention.metric], ['olmo', 'layernorm', 'pre', 'centered']);
    const block = spec.blocks[1]!;
    assert.deepEqual(
      [block.norm1, block.norm2],
      [
        { kind: 'layernorm', eps: 1e-5 },
        { kind: 'layernorm', eps: 1e-5 },
      ],
    );
    assert.deepEqual([block.attention.qkvClip, block.attention.qkNorm, block.attention.scale], [8, undefined, 1 / Math.sqrt(8)]);
    assert.ok(!('unavailable' in spec.outputHead));
    assert.deepEqual([spec.outputHead.finalNorm, spec.outputHead.tied], [{ kind: 'layernorm', eps: 1e-5 }, true]);
    assert.equal(lensHeadInfo({ diagnostics: ['lens'] }, spec)?.finalNorm, 'a LayerNorm without parameters');
    assert.match(
      spec.convention.mechanismsNormalization,
      /LayerNorm \(x − mean\(x\)\) \/ √\(var\(x\) \+ eps\), population variance, without weight or bias, before the MLP and before W_V/,
    );
    assert.match(spec.convention.weightsReason, /reading weights centered \(the LayerNorms have no gain or bias to fold\)/);
    await editConfig(tiny.dir, { clip_qkv: null });
    assert.equal((await loadModel(tiny.dir)).spec.blocks[0]!.attention.qkvClip, undefined, 'clip_qkv null: none');
  });

  it("olmo2: RMSNorm on each sub-block's output only, q/k norms over the whole projections, raw metric; clip_qkv ignored as Olmo2Config drops it", async () => {
    const tiny = await writeTinyOlmo(join(root, 'olmo2'), {
      modelType: 'olmo2',
      nLayers: 2,
      dModel: 32,
      nHeads: 4,
      nKvHeads: 2,
      extraConfig: { clip_qkv: 0.1 },
    });
    const { spec } = await loadModel(tiny.dir);
    assert.deepEqual([spec.architecture, spec.normalization, spec.normPlacement, spec.convention.metric], ['olmo2', 'rmsnorm', 'post', 'raw']);
    const block = spec.blocks[0]!;
    assert.deepEqual([block.norm1, block.norm2], [undefined, undefined]);
    assert.deepEqual(
      [block.norm1Post?.weight?.tensor.name, block.norm2Post?.weight?.tensor.name, block.norm1Post?.eps],
      ['model.layers.0.post_attention_layernorm.weight', 'model.layers.0.post_feedforward_layernorm.weight', 1e-6],
    );
    assert.equal(block.attention.qkNorm?.kind, 'projection');
    assert.deepEqual([block.attention.qkNorm?.q.weight?.tensor.shape, block.attention.qkNorm?.k.weight?.tensor.shape], [[32], [16]]);
    assert.equal(block.attention.qkvClip, undefined);
    assert.ok(!('unavailable' in spec.outputHead) && spec.outputHead.finalNorm?.weight?.tensor.name === 'model.norm.weight' && !spec.outputHead.tied);
    assert.match(spec.convention.mechanismsNormalization, /^no norm before the MLP and W_V .*then through the block's own post-sublayer RMSNorm/);
  });

  it('refuses a clip_qkv that is not a positive number, and partial rotary, naming the key and value', async () => {
    const tiny = await writeTinyOlmo(join(root, 'refused'), { nLayers: 1 });
    await editConfig(tiny.dir, { clip_qkv: -2, partial_rotary_factor: 0.5 });
    await assert.rejects(loadModel(tiny.dir), (error: Error) => {
      assert.ok(error instanceof ModelError);
      for (const part of ['clip_qkv is -2; expected a positive number or null', 'partial rotary (4 of 8 head dimensions) is not supported for olmo'])
        assert.ok(error.message.includes(part), `${part} in ${error.message}`);
      assert.equal(error.message.split('clip_qkv').length, 2, 'named once, not once per layer');
      return true;
    });
    assert.throws(
      () => olmoAdapter.readShape(tinyOlmoConfig({ extraConfig: { hidden_size: 30 } }), 'config.json'),
      (error: Error) => error instanceof ModelError && /num_attention_heads 4 does not divide hidden_size 30/.test(error.message),
    );
  });

  it("weights: OLMo's gains are 1 (‖1‖ = √d_model, mean 1), nothing folded; OLMo-2's post-sublayer and q/k norm gains, nothing before the sub-blocks", async () => {
    const olmo = await writeTinyOlmo(join(root, 'weights-olmo'), { nLayers: 1, dModel: 16, nHeads: 2, dMlp: 24 });
    const spec = (await loadModel(olmo.dir)).spec;
    const layer = computeLayerWeightNorms(0, (await readBlockValues(spec.blocks[0]!)).values, spec.dims, spec.convention.weightProcessing);
    assert.deepEqual([layer.raw['ln1.w'], layer.raw['ln1.w_mean'], layer.raw['ln1.b'], layer.raw['ln2.w']], [4, 1, null, 4]);
    // W_Q [16, 16] as nn.Linear stores it: processed = W_Q centered over the residual axis (no gain to fold).
    const q = olmo.weights.get('layers.0.self_attn.q_proj.weight')!;
    const centeredQ = Array.from(q, (value, i) => value - Array.from(q.subarray(i - (i % 16), i - (i % 16) + 16)).reduce((a, b) => a + b, 0) / 16);
    close(layer.processed.W_Q, l2(centeredQ), 'processed W_Q');

    const olmo2 = await writeTinyOlmo(join(root, 'weights-olmo2'), { modelType: 'olmo2', nLayers: 1, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24 });
    const spec2 = (await loadModel(olmo2.dir)).spec;
    const layer2 = computeLayerWeightNorms(0, (await readBlockValues(spec2.blocks[0]!)).values, spec2.dims, spec2.convention.weightProcessing);
    assert.deepEqual([layer2.raw['ln1.w'], layer2.raw['ln2.w']], [null, null], 'no norm before the sub-blocks');
    const stored = (name: string) => olmo2.weights.get(`layers.0.${name}.weight`)!;
    for (const variant of ['raw', 'processed'] as const) {
      close(layer2[variant]['ln1_post.w'], l2(stored('post_attention_layernorm')), `${variant} ln1_post.w`);
      close(layer2[variant]['ln2_post.w'], l2(stored('post_feedforward_layernorm')), `${variant} ln2_post.w`);
      close(layer2[variant]['q_norm.w'], l2(stored('self_attn.q_norm')), `${variant} q_norm.w (over 2 heads × 8)`);
      close(layer2[variant]['k_norm.w'], l2(stored('self_attn.k_norm')), `${variant} k_norm.w (over 1 kv head × 8)`);
    }
    close(layer2.processed.W_Q, l2(stored('self_attn.q_proj')), 'nothing folded into W_Q');
  });
});
