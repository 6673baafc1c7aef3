/**
 * The Mixtral adapter: what it reads of config.json (mistralai/Mixtral-8x7B-v0.1's keys and
 * MixtralConfig's defaults, rope_theta 1e6 among them), the mixture as the description says it,
 * what it refuses from config.json alone, and what `weights` reports of the experts: each
 * expert's norms, the layer's as the norm of all experts together, the router's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { mixtralAdapter } from '../../src/architectures/mixtral.js';
import { analyzeWeights } from '../../src/commands/weights.js';
import { ModelError } from '../../src/errors.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { WeightsFileSchema } from '../../src/results/weights-schema.js';
import { tinyMixtralConfig, writeTinyMixtral } from '../support/tiny-mixtral.js';

/** mistralai/Mixtral-8x7B-v0.1's config.json, as released. */
const MIXTRAL_8X7B = {
  architectures: ['MixtralForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mixtral',
  num_attention_heads: 32,
  num_experts_per_tok: 2,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  num_local_experts: 8,
  output_router_logits: false,
  rms_norm_eps: 1e-5,
  rope_theta: 1e6,
  router_aux_loss_coef: 0.02,
  sliding_window: null,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.36.0.dev0',
  use_cache: true,
  vocab_size: 32000,
};

const l2 = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0));
const close = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(Math.abs(actual! - expected) <= 1e-6 * expected, `${what}: ${actual} vs ${expected}`);

describe('Mixtral adapter', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-mixtral-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it("reads Mixtral-8x7B's shape: 32 sequential RMSNorm blocks of 4096, 8 kv heads, experts of 14336", () => {
    const shape = mixtralAdapter.readShape(MIXTRAL_8X7B, 'config.json');
    assert.deepEqual(shape.dims, { nLayers: 32, dModel: 4096, nHeads: 32, nKvHeads: 8, dHead: 128, dMlp: 14336, dVocab: 32000, nCtx: 32768 });
    assert.deepEqual([shape.normalization, shape.parallelResidual, shape.convention.metric, shape.specialTokenIds], ['rmsnorm', false, 'raw', [1, 2]]);
  });

  it('describes the router, top-2 of the experts renormalised, each expert w2(silu(w1 x) · w3 x), rope_theta 1e6 when the config names none', async () => {
    const tiny = await writeTinyMixtral(join(root, 'mixtral'), { nLayers: 2, nExperts: 4, slidingWindow: 6, extraConfig: { rope_theta: undefined } });
    const { spec } = await loadModel(tiny.dir);
    const { mlp, attention } = spec.blocks[1]!;
    assert.ok(mlp.kind === 'moe');
    assert.deepEqual(
      [mlp.router.weight.tensor.name, mlp.router.weight.tensor.shape, mlp.topK, mlp.normalizeTopK, mlp.experts.length],
      ['model.layers.1.block_sparse_moe.gate.weight', [4, 32], 2, true, 4],
    );
    const expert = mlp.experts[3]!;
    assert.ok(expert.kind === 'gated');
    assert.deepEqual(
      [expert.gate.weight.tensor.name, expert.up.weight.tensor.name, expert.down.weight.tensor.name, expert.activation],
      [
        'model.layers.1.block_sparse_moe.experts.3.w1.weight',
        'model.layers.1.block_sparse_moe.experts.3.w3.weight',
        'model.layers.1.block_sparse_moe.experts.3.w2.weight',
        'silu',
      ],
    );
    assert.deepEqual([attention.window, attention.rotary?.base, attention.out.bias], [6, 1e6, undefined]);
  });

  it('refuses more experts per token than experts, and partial rotary, from config.json alone', () => {
    assert.throws(
      () => mixtralAdapter.readShape(tinyMixtralConfig({ nExperts: 4, topK: 5 }), 'config.json'),
      (error: Error) => error instanceof ModelError && error.message.includes('num_experts_per_tok 5 exceeds num_local_experts 4'),
    );
    assert.throws(
      () => mixtralAdapter.readShape(tinyMixtralConfig({ extraConfig: { partial_rotary_factor: 0.5 } }), 'config.json'),
      (error: Error) => error instanceof ModelError && error.message.includes('partial rotary (4 of 8 head dimensions) is not supported for mixtral'),
    );
  });

  it("weights: every expert's norms in `experts`, the layer's the norm of all of them, the router's folded with the gain", async () => {
    const tiny = await writeTinyMixtral(join(root, 'weights'), { nLayers: 1, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, nExperts: 3 });
    const { weights } = await analyzeWeights({ model: tiny.dir, outPath: join(root, 'weights.json'), refresh: false }, createSilentReporter());
    assert.ok(WeightsFileSchema.safeParse(weights).success, 'the file validates');
    assert.deepEqual([weights.model.mlp, weights.model.experts], ['moe', { count: 3, perToken: 2 }]);
    const layer = weights.layers[0]!;
    const stored = (e: number, name: string) => tiny.weights.get(`layers.0.block_sparse_moe.experts.${e}.${name}.weight`)!;
    const each = [0, 1, 2].map((e) => l2(stored(e, 'w3')));
    layer.experts!.raw.W_in.forEach((value, e) => close(value, each[e]!, `expert ${e} W_in (w3)`));
    layer.experts!.raw.W_gate!.forEach((value, e) => close(value, l2(stored(e, 'w1')), `expert ${e} W_gate (w1)`));
    layer.experts!.raw.W_out.forEach((value, e) => close(value, l2(stored(e, 'w2')), `expert ${e} W_out (w2)`));
    close(layer.raw.W_in, Math.sqrt(each.reduce((a, v) => a + v * v, 0)), "the layer's W_in: all experts together");
    assert.deepEqual([layer.raw.b_in, layer.experts!.raw.b_in], [null, [null, null, null]], 'no biases');
    const gain = tiny.weights.get('layers.0.post_attention_layernorm.weight')!;
    const router = tiny.weights.get('layers.0.block_sparse_moe.gate.weight')!;
    close(layer.raw.W_router, l2(router), 'raw router');
    close(layer.processed.W_router, l2(Array.from(router, (v, i) => v * gain[i % 16]!)), 'processed router: × the gain, not centered');
    assert.equal(layer.experts!.processed.W_inW_out!.length, 3);
    close(
      layer.processed.W_inW_out,
      Math.sqrt(layer.experts!.processed.W_inW_out!.reduce((a, v) => a + v * v, 0)),
      "the layer's W_in·W_out: all experts' products together",
    );
  });
});
