/**
 * The GPT-J adapter: what it reads of config.json (EleutherAI/gpt-j-6b's keys and
 * transformers' defaults), how the description says its quirks (one LayerNorm for both
 * sub-blocks, interleaved partial rotary, no attention biases, lm_head's bias), what it refuses
 * from config.json alone, and what `weights` reports of it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gptjAdapter } from '../../src/architectures/gptj.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { availableHooks } from '../../src/architectures/model-shape.js';
import { ModelError } from '../../src/errors.js';
import { readBlockValues } from '../../src/weights/block-values.js';
import { computeLayerWeightNorms } from '../../src/weights/weight-norms.js';
import { tinyGptjConfig, writeTinyGptj } from '../support/tiny-gptj.js';

/** EleutherAI/gpt-j-6b's config.json, as released (task_specific_params left out). */
const GPT_J_6B = {
  activation_function: 'gelu_new',
  architectures: ['GPTJForCausalLM'],
  attn_pdrop: 0.0,
  bos_token_id: 50256,
  embd_pdrop: 0.0,
  eos_token_id: 50256,
  gradient_checkpointing: false,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: 'gptj',
  n_embd: 4096,
  n_head: 16,
  n_inner: null,
  n_layer: 28,
  n_positions: 2048,
  resid_pdrop: 0.0,
  rotary: true,
  rotary_dim: 64,
  scale_attn_weights: true,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  tie_word_embeddings: false,
  tokenizer_class: 'GPT2Tokenizer',
  transformers_version: '4.18.0.dev0',
  use_cache: true,
  vocab_size: 50400,
};

describe('GPT-J adapter', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gptj-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it("reads gpt-j-6b's shape: 28 parallel LayerNorm blocks of 4096, n_inner null = 4 · n_embd", () => {
    const shape = gptjAdapter.readShape(GPT_J_6B, 'config.json');
    assert.deepEqual(shape.dims, { nLayers: 28, dModel: 4096, nHeads: 16, nKvHeads: 16, dHead: 256, dMlp: 16384, dVocab: 50400, nCtx: 2048 });
    assert.deepEqual([shape.normalization, shape.parallelResidual, shape.convention.metric], ['layernorm', true, 'centered']);
    assert.deepEqual(availableHooks(shape), ['resid_pre', 'attn_out', 'mlp_out', 'resid_post']);
  });

  it('describes one ln_1 for both sub-blocks, interleaved rotary on rotary_dim features, no attention biases, lm_head with its bias', async () => {
    const tiny = await writeTinyGptj(join(root, 'gptj'), { nLayers: 2, dModel: 32, nHeads: 4, rotaryDim: 4 });
    const { spec } = await loadModel(tiny.dir);
    const block = spec.blocks[1]!;
    assert.equal(block.norm1, block.norm2, 'ln2 is ln_1');
    assert.equal(block.norm1?.weight?.tensor.name, 'transformer.h.1.ln_1.weight');
    assert.deepEqual(block.attention.rotary, { rotaryDims: 4, base: 10000, pairing: 'interleaved' });
    assert.ok(block.attention.qkv.kind === 'separate' && block.attention.qkv.q.bias === undefined && block.attention.out.bias === undefined);
    assert.equal(block.attention.scale, 1 / Math.sqrt(8));
    assert.ok(block.mlp.kind === 'dense' && block.mlp.in.bias?.tensor.name === 'transformer.h.1.mlp.fc_in.bias');
    assert.ok(!('unavailable' in spec.outputHead));
    assert.deepEqual(
      [spec.outputHead.finalNorm?.weight?.tensor.name, spec.outputHead.unembedding.tensor.name, spec.outputHead.bias?.tensor.name, spec.outputHead.tied],
      ['transformer.ln_f.weight', 'lm_head.weight', 'lm_head.bias', false],
    );
  });

  it('refuses rotary_dim null, odd, or wider than a head from config.json alone', () => {
    for (const [rotaryDim, shown] of [
      [null, 'null'],
      [5, '5'],
      [16, '16'],
    ] as const) {
      assert.throws(
        () => gptjAdapter.readShape(tinyGptjConfig({ dModel: 32, nHeads: 4, rotaryDim }), 'config.json'),
        (error: Error) => error instanceof ModelError && error.message.includes(`rotary_dim is ${shown}; expected an even integer from 2 to the head width 8`),
        String(rotaryDim),
      );
    }
  });

  it('weights: ln2 is ln_1, folded into W_in as into W_Q, W_K, W_V', async () => {
    const tiny = await writeTinyGptj(join(root, 'weights'), { nLayers: 1, dModel: 16, nHeads: 2, rotaryDim: 4 });
    const { spec } = await loadModel(tiny.dir);
    const layer = computeLayerWeightNorms(0, (await readBlockValues(spec.blocks[0]!)).values, spec.dims, spec.convention.weightProcessing);
    assert.deepEqual([layer.raw['ln2.w'], layer.raw['ln2.b']], [layer.raw['ln1.w'], layer.raw['ln1.b']]);
    // Processed W_in = C·diag(g)·W_in (TransformerLens orientation): fc_in [64, 16] scaled by ln_1's gain per input, centered over the 16 inputs.
    const gain = tiny.weights.get('h.0.ln_1.weight')!;
    const fcIn = tiny.weights.get('h.0.mlp.fc_in.weight')!;
    let squares = 0;
    for (let row = 0; row < 64; row += 1) {
      const scaled = Array.from({ length: 16 }, (_, i) => fcIn[row * 16 + i]! * gain[i]!);
      const mean = scaled.reduce((a, b) => a + b, 0) / 16;
      squares += scaled.reduce((a, v) => a + (v - mean) ** 2, 0);
    }
    assert.ok(
      Math.abs(layer.processed.W_in - Math.sqrt(squares)) <= 1e-6 * Math.sqrt(squares),
      `processed W_in ${layer.processed.W_in} vs ${Math.sqrt(squares)}`,
    );
    assert.equal(layer.raw.b_O, null, 'GPT-J has no attention output bias');
  });
});
