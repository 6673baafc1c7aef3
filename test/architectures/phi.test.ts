/**
 * The Phi and Phi-3 adapters: what they read of config.json (the released keys and
 * transformers' defaults), how the description says their quirks (one LayerNorm for both
 * sub-blocks, partial rotary, lm_head's bias; fused qkv_proj and gate_up_proj as row ranges of
 * one tensor), what they refuse from config.json alone, and what `weights` reports of them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { availableHooks } from '../../src/architectures/model-shape.js';
import { phi3Adapter } from '../../src/architectures/phi3.js';
import { phiAdapter } from '../../src/architectures/phi.js';
import { ModelError } from '../../src/errors.js';
import { readBlockValues } from '../../src/weights/block-values.js';
import { computeLayerWeightNorms } from '../../src/weights/weight-norms.js';
import { tinyPhiConfig, writeTinyPhi } from '../support/tiny-phi.js';

const l2 = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0));
const refused = (pattern: RegExp) => (error: Error) => error instanceof ModelError && pattern.test(error.message);

/** microsoft/phi-2's config.json, as released (the keys that matter here). */
const PHI_2 = {
  architectures: ['PhiForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 50256,
  embd_pdrop: 0.0,
  eos_token_id: 50256,
  hidden_act: 'gelu_new',
  hidden_size: 2560,
  initializer_range: 0.02,
  intermediate_size: 10240,
  layer_norm_eps: 1e-5,
  max_position_embeddings: 2048,
  model_type: 'phi',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  partial_rotary_factor: 0.4,
  qk_layernorm: false,
  resid_pdrop: 0.1,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.37.0',
  use_cache: true,
  vocab_size: 51200,
};

/** microsoft/Phi-3-mini-4k-instruct's config.json (without auto_map). */
const PHI_3_MINI_4K = {
  architectures: ['Phi3ForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 1,
  embd_pdrop: 0.0,
  eos_token_id: 32000,
  hidden_act: 'silu',
  hidden_size: 3072,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 4096,
  model_type: 'phi3',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  original_max_position_embeddings: 4096,
  pad_token_id: 32000,
  resid_pdrop: 0.0,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  sliding_window: 2047,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.2',
  use_cache: true,
  vocab_size: 32064,
};

describe('Phi and Phi-3 adapters', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-phi-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it("reads the released configs' shapes: phi-2 parallel LayerNorm, Phi-3-mini-4k sequential RMSNorm", () => {
    const phi2 = phiAdapter.readShape(PHI_2, 'config.json');
    assert.deepEqual(phi2.dims, { nLayers: 32, dModel: 2560, nHeads: 32, nKvHeads: 32, dHead: 80, dMlp: 10240, dVocab: 51200, nCtx: 2048 });
    assert.deepEqual([phi2.normalization, phi2.parallelResidual, phi2.convention.metric, phi2.bosTokenId], ['layernorm', true, 'centered', 50256]);
    assert.deepEqual(availableHooks(phi2), ['resid_pre', 'attn_out', 'mlp_out', 'resid_post']);
    const phi3 = phi3Adapter.readShape(PHI_3_MINI_4K, 'config.json');
    assert.deepEqual(phi3.dims, { nLayers: 32, dModel: 3072, nHeads: 32, nKvHeads: 32, dHead: 96, dMlp: 8192, dVocab: 32064, nCtx: 4096 });
    assert.deepEqual([phi3.normalization, phi3.parallelResidual, phi3.convention.metric, phi3.specialTokenIds], ['rmsnorm', false, 'raw', [1, 32000]]);
  });

  it('phi: one LayerNorm read by both sub-blocks, partial rotary, biases, lm_head with its bias', async () => {
    const tiny = await writeTinyPhi(join(root, 'phi'), { nLayers: 2, dModel: 40, nHeads: 4, nKvHeads: 2, partialRotaryFactor: 0.4 });
    const { spec } = await loadModel(tiny.dir);
    const block = spec.blocks[1]!;
    assert.equal(block.norm1, block.norm2, 'ln2 is ln1');
    assert.equal(block.norm1?.weight?.tensor.name, 'model.layers.1.input_layernorm.weight');
    assert.deepEqual(block.attention.rotary, { rotaryDims: 4, base: 10000 });
    assert.equal(block.attention.out.bias?.tensor.name, 'model.layers.1.self_attn.dense.bias');
    assert.ok(block.attention.qkv.kind === 'separate' && block.attention.qkv.k.weight.tensor.shape[0] === 20, 'k_proj has the kv heads (2 of 4)');
    assert.ok(block.mlp.kind === 'dense' && block.mlp.in.bias !== undefined && block.mlp.activation === 'gelu_new');
    assert.ok(!('unavailable' in spec.outputHead));
    assert.deepEqual(
      [spec.outputHead.finalNorm?.weight?.tensor.name, spec.outputHead.unembedding.tensor.name, spec.outputHead.bias?.tensor.name, spec.outputHead.tied],
      ['model.final_layernorm.weight', 'lm_head.weight', 'lm_head.bias', false],
    );
  });

  it('phi: qk_layernorm gives per-head LayerNorms of the queries and keys', async () => {
    const tiny = await writeTinyPhi(join(root, 'phi-qk'), { nLayers: 1, dModel: 32, nHeads: 4, qkLayernorm: true });
    const { qkNorm } = (await loadModel(tiny.dir)).spec.blocks[0]!.attention;
    assert.deepEqual(
      [qkNorm?.kind, qkNorm?.q.kind, qkNorm?.q.weight?.tensor.shape, qkNorm?.k.bias?.tensor.name],
      ['per-head', 'layernorm', [8], 'model.layers.0.self_attn.k_layernorm.bias'],
    );
  });

  it('phi: refuses an unknown RoPE type from config.json alone', () => {
    assert.throws(
      () => phiAdapter.readShape(tinyPhiConfig({ extraConfig: { rope_scaling: { type: 'dynamic', factor: 2 } } }), 'config.json'),
      refused(/rope_scaling type "dynamic" is not supported/),
    );
  });

  it("phi3: qkv_proj fused [q | k | v], gate_up_proj as the gate's rows then the up projection's, the window on every layer", async () => {
    const tiny = await writeTinyPhi(join(root, 'phi3'), { modelType: 'phi3', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, slidingWindow: 5 });
    const { spec } = await loadModel(tiny.dir);
    const block = spec.blocks[0]!;
    assert.ok(block.attention.qkv.kind === 'fused');
    assert.deepEqual(block.attention.qkv.linear.weight.tensor.shape, [(4 + 2 * 2) * 8, 32]);
    assert.ok(block.mlp.kind === 'gated');
    assert.deepEqual(
      [block.mlp.gate.weight.tensor.name, block.mlp.gate.weight.rows, block.mlp.up.weight.tensor.name, block.mlp.up.weight.rows],
      ['model.layers.0.mlp.gate_up_proj.weight', { start: 0, count: 48 }, 'model.layers.0.mlp.gate_up_proj.weight', { start: 48, count: 48 }],
    );
    assert.deepEqual(
      spec.blocks.map((b) => b.attention.window),
      [5, 5],
    );
    assert.deepEqual(availableHooks(spec), ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post']);
  });

  it('phi3: LongRoPE (longrope, and su as older configs say it) in its short regime: the short factors, the attention factor, the context capped at original_max_position_embeddings', () => {
    const pairs = 48; // head_dim 96, whole heads
    const factors = (scale: number) => Array.from({ length: pairs }, (_, i) => 1 + scale * i);
    for (const type of ['longrope', 'su']) {
      // microsoft/Phi-3.5-mini-instruct: 131072 positions, 4096 of them in the short regime.
      const config = {
        ...PHI_3_MINI_4K,
        max_position_embeddings: 131072,
        sliding_window: 262144,
        rope_scaling: { long_factor: factors(0.5), short_factor: factors(0.01), type },
      };
      const shape = phi3Adapter.readShape(config, 'config.json');
      assert.equal(shape.dims.nCtx, 4096, `${type}: at most original_max_position_embeddings tokens`);
    }
    const expected = Math.sqrt(1 + Math.log(32) / Math.log(4096));
    assert.ok(Math.abs(expected - 1.1902380714238083) < 1e-12, "Phi-3.5-mini's attention factor");
  });

  it('phi3: refuses LongRoPE factors of the wrong length from config.json alone, naming the key', () => {
    const config = { ...PHI_3_MINI_4K, max_position_embeddings: 131072, rope_scaling: { long_factor: [1, 2], short_factor: [1, 2], type: 'longrope' } };
    assert.throws(
      () => phi3Adapter.readShape(config, 'config.json'),
      refused(/rope_scaling\.short_factor is \[1,2\]; expected 48 positive numbers \(one per rotated pair\)/),
    );
  });

  it('phi3: the description carries the short factors and the attention factor', async () => {
    const shortFactor = [1, 1.5, 2, 4];
    const tiny = await writeTinyPhi(join(root, 'phi3-longrope'), {
      modelType: 'phi3',
      nLayers: 1,
      dModel: 32,
      nHeads: 4,
      nCtx: 256,
      longRope: { shortFactor, longFactor: [1, 2, 3, 4], originalContext: 64 },
    });
    const { spec } = await loadModel(tiny.dir);
    assert.deepEqual(spec.blocks[0]!.attention.rotary?.scaling, {
      kind: 'longrope',
      shortFactors: shortFactor,
      attentionFactor: Math.sqrt(1 + Math.log(4) / Math.log(64)),
      originalContext: 64,
    });
    assert.equal(spec.dims.nCtx, 64);
  });

  it('weights: the gate and up projections are their own halves of gate_up_proj, read once', async () => {
    const tiny = await writeTinyPhi(join(root, 'phi3-weights'), { modelType: 'phi3', nLayers: 1, dModel: 16, nHeads: 2, dMlp: 24 });
    const { spec } = await loadModel(tiny.dir);
    const { values, bytesRead } = await readBlockValues(spec.blocks[0]!);
    const fused = tiny.weights.get('layers.0.mlp.gate_up_proj.weight')!;
    const layer = computeLayerWeightNorms(0, values, spec.dims, spec.convention.weightProcessing);
    const close = (actual: number | null | undefined, expected: number, what: string) =>
      assert.ok(Math.abs(actual! - expected) <= 1e-6 * expected, `${what}: ${actual} vs ${expected}`);
    close(layer.raw.W_gate, l2(fused.subarray(0, 24 * 16)), 'W_gate: the first 24 rows');
    close(layer.raw.W_in, l2(fused.subarray(24 * 16)), 'W_in (up): the last 24 rows');
    const stored = (2 * 16 + 3 * 16 * 16 + 16 * 16 + 2 * 24 * 16 + 16 * 24) * 4; // two norms, qkv, o, gate_up, down (F32)
    assert.equal(bytesRead, stored, 'every tensor read once');
  });
});
