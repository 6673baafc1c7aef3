/**
 * The Gemma, Gemma 2 and Gemma 3 (text) adapters: what they read of config.json (the released keys and
 * transformers' defaults), what they make of Gemma's quirks in the description, what they
 * refuse; and what `weights` reports of them (the gains as the model applies them, 1 + w).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { gemma2Adapter, gemma3TextAdapter, gemmaAdapter } from '../../src/architectures/gemma.js';
import { ModelError } from '../../src/errors.js';
import { readBlockValues } from '../../src/weights/block-values.js';
import { computeLayerWeightNorms } from '../../src/weights/weight-norms.js';
import { editConfig } from '../support/tiny-model.js';
import { tinyGemmaConfig, writeTinyGemma } from '../support/tiny-gemma.js';

const l2 = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0));

describe('Gemma and Gemma 2 adapters', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gemma-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('gemma: scaled embeddings, 1 + w gains, tanh GeGLU although hidden_act says gelu, head_dim apart, tied', async () => {
    const tiny = await writeTinyGemma(join(root, 'gemma'), { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 1, headDim: 12 });
    const { spec } = await loadModel(tiny.dir);
    assert.equal(spec.architecture, 'gemma');
    assert.deepEqual(spec.dims, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 1, dHead: 12, dMlp: 48, dVocab: 257, nCtx: 64 });
    assert.equal(spec.tokenEmbedding.scale, Math.sqrt(32));
    assert.equal(spec.tokenEmbedding.tensor.name, 'model.embed_tokens.weight');
    const block = spec.blocks[1]!;
    assert.deepEqual(
      [block.norm1?.weight?.tensor.name, block.norm1?.weight?.offset, block.norm2?.weight?.tensor.name, block.norm2?.weight?.offset],
      ['model.layers.1.input_layernorm.weight', 1, 'model.layers.1.post_attention_layernorm.weight', 1],
    );
    assert.equal(block.norm1Post, undefined);
    assert.equal(block.mlp.kind === 'gated' && block.mlp.activation, 'gelu_new', 'gelu_pytorch_tanh, whatever hidden_act says');
    assert.equal(block.attention.scale, 1 / Math.sqrt(12));
    assert.equal(block.attention.scoreSoftCap, undefined);
    assert.equal(block.attention.window, undefined);
    assert.ok(!('unavailable' in spec.outputHead));
    assert.deepEqual(
      [
        spec.outputHead.tied,
        spec.outputHead.unembedding.tensor.name,
        spec.outputHead.unembedding.scale,
        spec.outputHead.finalNorm?.weight?.offset,
        spec.outputHead.logitSoftCap,
      ],
      [true, 'model.embed_tokens.weight', undefined, 1, undefined],
    );
    assert.deepEqual([spec.normalization, spec.normPlacement, spec.convention.metric], ['rmsnorm', 'pre', 'raw']);
    assert.match(spec.convention.mechanismsNormalization, /RMSNorm x \/ √\(mean\(x²\) \+ eps\) · \(1 \+ w\)/);
    assert.match(spec.convention.weightsReason, /RMSNorm gains \(\(1 \+ w\), as the model applies them\) folded/);
  });

  it('gemma: hidden_activation, when a config gives it, decides; head_dim defaults to 256 as GemmaConfig does', () => {
    const config = tinyGemmaConfig({ extraConfig: { hidden_activation: 'gelu' } });
    assert.equal(gemmaAdapter.readShape(config, 'config.json').dims.dHead, 12);
    const { head_dim: _dim, ...withoutHeadDim } = config;
    assert.equal(gemmaAdapter.readShape(withoutHeadDim, 'config.json').dims.dHead, 256);
  });

  it('gemma2: sandwich norms, query_pre_attn_scalar, soft-caps, a window on the even layers', async () => {
    const tiny = await writeTinyGemma(join(root, 'gemma2'), {
      modelType: 'gemma2',
      nLayers: 3,
      dModel: 32,
      nHeads: 4,
      nKvHeads: 2,
      headDim: 16,
      slidingWindow: 5,
      queryPreAttnScalar: 20,
    });
    const { spec } = await loadModel(tiny.dir);
    assert.deepEqual([spec.architecture, spec.normPlacement], ['gemma2', 'sandwich']);
    const names = spec.blocks.map((block) =>
      [block.norm1, block.norm1Post, block.norm2, block.norm2Post].map(
        (norm) => `${norm?.weight?.tensor.name.replace(/^model\.layers\.\d\./, '')}+${norm?.weight?.offset}`,
      ),
    );
    assert.deepEqual(names[0], [
      'input_layernorm.weight+1',
      'post_attention_layernorm.weight+1',
      'pre_feedforward_layernorm.weight+1',
      'post_feedforward_layernorm.weight+1',
    ]);
    assert.deepEqual(
      spec.blocks.map((block) => block.attention.window),
      [5, undefined, 5],
    );
    assert.deepEqual(
      spec.blocks.map((block) => [block.attention.scale, block.attention.scoreSoftCap]),
      Array(3).fill([1 / Math.sqrt(20), 50]),
    );
    assert.ok(!('unavailable' in spec.outputHead));
    assert.equal(spec.outputHead.logitSoftCap, 30);
    assert.match(spec.convention.mechanismsNormalization, /then through the block's own post-sublayer RMSNorm/);
  });

  it('gemma2: layer_types, and null soft-caps and window, as the config says', async () => {
    const tiny = await writeTinyGemma(join(root, 'gemma2-types'), {
      modelType: 'gemma2',
      nLayers: 3,
      slidingWindow: 7,
      attnLogitSoftcapping: null,
      finalLogitSoftcapping: null,
      extraConfig: { layer_types: ['full_attention', 'sliding_attention', 'full_attention'] },
    });
    const { spec } = await loadModel(tiny.dir);
    assert.deepEqual(
      spec.blocks.map((block) => [block.attention.window, block.attention.scoreSoftCap]),
      [
        [undefined, undefined],
        [7, undefined],
        [undefined, undefined],
      ],
    );
    assert.ok(!('unavailable' in spec.outputHead) && spec.outputHead.logitSoftCap === undefined);
    await editConfig(tiny.dir, { sliding_window: null, layer_types: undefined });
    assert.deepEqual(
      (await loadModel(tiny.dir)).spec.blocks.map((block) => block.attention.window),
      [undefined, undefined, undefined],
    );
  });

  it('refuses a bidirectional Gemma from config.json alone', () => {
    const config = tinyGemmaConfig({ modelType: 'gemma2', nLayers: 2, extraConfig: { use_bidirectional_attention: true } });
    assert.throws(
      () => gemma2Adapter.readShape(config, 'config.json'),
      (error: Error) => error instanceof ModelError && /use_bidirectional_attention is true/.test(error.message),
    );
  });

  it('refuses bad soft-caps, layer types and partial rotary when describing the weights', async () => {
    const tiny = await writeTinyGemma(join(root, 'refused'), { modelType: 'gemma2', nLayers: 2 });
    await editConfig(tiny.dir, { layer_types: ['full_attention'], attn_logit_softcapping: -1, final_logit_softcapping: 'high', partial_rotary_factor: 0.5 });
    // ProblemList names the first four problems and counts the rest.
    await assert.rejects(loadModel(tiny.dir), (error: Error) => {
      assert.ok(error instanceof ModelError);
      for (const part of [
        'attn_logit_softcapping is -1; expected a positive number or null',
        'layer_types is ["full_attention"]; expected 2 entries',
        'partial rotary (6 of 12 head dimensions) is not supported for gemma2',
        '(and 1 more)',
      ]) {
        assert.ok(error.message.includes(part), `${part} in ${error.message}`);
      }
      return true;
    });
  });

  it('weights: the norms as the model applies them (1 + w), folded into the weights that read them; the post-sublayer norms reported', async () => {
    const tiny = await writeTinyGemma(join(root, 'weights'), { modelType: 'gemma2', nLayers: 1, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24 });
    const { spec } = await loadModel(tiny.dir);
    const { values } = await readBlockValues(spec.blocks[0]!);
    const stored = (name: string) => tiny.weights.get(`layers.0.${name}.weight`)!;
    const gain = Float64Array.from(stored('input_layernorm'), (w) => 1 + w);
    assert.deepEqual(Array.from(values.norm1!.weight!), Array.from(gain, Math.fround), 'the gain read is 1 + w');
    const layer = computeLayerWeightNorms(0, values, spec.dims, spec.convention.weightProcessing);
    const close = (actual: number | null | undefined, expected: number, what: string) =>
      assert.ok(Math.abs(actual! - expected) <= 1e-6 * expected, `${what}: ${actual} vs ${expected}`);
    close(layer.raw['ln1.w'], l2(gain), 'ln1.w');
    close(layer.raw['ln1_post.w'], l2(Float64Array.from(stored('post_attention_layernorm'), (w) => 1 + w)), 'ln1_post.w');
    close(layer.processed['ln2_post.w'], l2(Float64Array.from(stored('post_feedforward_layernorm'), (w) => 1 + w)), 'ln2_post.w (processing leaves it)');
    // W_Q [8, 16] as nn.Linear stores it: processed = W_Q · diag(1 + w), no centering (RMSNorm).
    const q = stored('self_attn.q_proj');
    close(layer.processed.W_Q, l2(Array.from(q, (value, i) => value * gain[i % 16]!)), 'processed W_Q');
    close(layer.raw.W_Q, l2(q), 'raw W_Q');
  });

  it('gemma3_text: q/k norms 1 + w per head, local layers (all but every sixth) with window and rope_local_base_freq, global ones with rope_theta and rope_scaling, no soft-caps', async () => {
    const tiny = await writeTinyGemma(join(root, 'gemma3'), {
      modelType: 'gemma3_text',
      nLayers: 7,
      dModel: 32,
      nHeads: 4,
      nKvHeads: 1,
      headDim: 8,
      extraConfig: { rope_scaling: { rope_type: 'linear', factor: 8 } },
    });
    const { spec } = await loadModel(tiny.dir);
    assert.deepEqual([spec.architecture, spec.normPlacement, spec.convention.metric], ['gemma3_text', 'sandwich', 'raw']);
    const attention = spec.blocks[0]!.attention;
    assert.deepEqual(
      [attention.qkNorm?.kind, attention.qkNorm?.q.weight?.tensor.name, attention.qkNorm?.q.weight?.offset, attention.qkNorm?.k.weight?.tensor.shape],
      ['per-head', 'model.layers.0.self_attn.q_norm.weight', 1, [8]],
    );
    assert.deepEqual(
      spec.blocks.map((block) => block.attention.window),
      [512, 512, 512, 512, 512, undefined, 512],
    );
    assert.deepEqual(
      spec.blocks.map((block) => block.attention.rotary),
      [
        ...Array(5).fill({ rotaryDims: 8, base: 10000 }),
        { rotaryDims: 8, base: 1000000, scaling: { kind: 'linear', factor: 8 } },
        { rotaryDims: 8, base: 10000 },
      ],
    );
    assert.deepEqual([attention.scale, attention.scoreSoftCap], [1 / Math.sqrt(8), undefined]);
    assert.ok(!('unavailable' in spec.outputHead) && spec.outputHead.logitSoftCap === undefined && spec.outputHead.tied);
    assert.equal(spec.tokenEmbedding.scale, Math.sqrt(32));
    const { head_dim: _dim, ...withoutHeadDim } = tinyGemmaConfig({ modelType: 'gemma3_text' });
    assert.equal(gemma3TextAdapter.readShape(withoutHeadDim, 'config.json').dims.dHead, 256, "Gemma3TextConfig's head_dim default");
  });

  it("gemma3_text: layer_types, and transformers 5's rope_parameters keyed by layer type", async () => {
    const tiny = await writeTinyGemma(join(root, 'gemma3-keyed'), {
      modelType: 'gemma3_text',
      nLayers: 3,
      headDim: 8,
      extraConfig: {
        layer_types: ['full_attention', 'sliding_attention', 'full_attention'],
        rope_theta: undefined,
        rope_local_base_freq: undefined,
        rope_parameters: { sliding_attention: { rope_type: 'default', rope_theta: 20 }, full_attention: { rope_type: 'linear', factor: 2, rope_theta: 300 } },
      },
    });
    const { spec } = await loadModel(tiny.dir);
    const full = { rotaryDims: 8, base: 300, scaling: { kind: 'linear', factor: 2 } };
    assert.deepEqual(
      spec.blocks.map((block) => [block.attention.window, block.attention.rotary]),
      [
        [undefined, full],
        [512, { rotaryDims: 8, base: 20 }],
        [undefined, full],
      ],
    );
  });

  it('gemma3_text refuses a bad sliding_window_pattern and an unsupported RoPE type by layer type, naming the key and value', async () => {
    const tiny = await writeTinyGemma(join(root, 'gemma3-refused'), { modelType: 'gemma3_text', nLayers: 2 });
    await editConfig(tiny.dir, {
      sliding_window_pattern: 0,
      rope_parameters: { full_attention: { rope_type: 'yarn', factor: 4 }, sliding_attention: { rope_type: 'default' } },
    });
    await assert.rejects(loadModel(tiny.dir), (error: Error) => {
      assert.ok(error instanceof ModelError);
      for (const part of ['sliding_window_pattern is 0; expected a positive integer', 'rope_parameters.full_attention type "yarn" is not supported'])
        assert.ok(error.message.includes(part), `${part} in ${error.message}`);
      return true;
    });
  });

  it('gemma3_text weights: the q/k norm gains as applied (1 + w), in both variants', async () => {
    const tiny = await writeTinyGemma(join(root, 'gemma3-weights'), {
      modelType: 'gemma3_text',
      nLayers: 1,
      dModel: 16,
      nHeads: 2,
      nKvHeads: 1,
      headDim: 8,
      dMlp: 24,
    });
    const { spec } = await loadModel(tiny.dir);
    const layer = computeLayerWeightNorms(0, (await readBlockValues(spec.blocks[0]!)).values, spec.dims, spec.convention.weightProcessing);
    const gain = (name: string) => l2(Float64Array.from(tiny.weights.get(`layers.0.self_attn.${name}.weight`)!, (w) => 1 + w));
    for (const variant of ['raw', 'processed'] as const) {
      assert.ok(Math.abs(layer[variant]['q_norm.w']! - gain('q_norm')) <= 1e-6 * gain('q_norm'), `${variant} q_norm.w`);
      assert.ok(Math.abs(layer[variant]['k_norm.w']! - gain('k_norm')) <= 1e-6 * gain('k_norm'), `${variant} k_norm.w`);
    }
  });
});
