/**
 * The released config.json of each Gemma, Qwen3 and OLMo checkpoint that `models` names (the keys
 * that decide the shape, as their Hub pages show them; no hub is reachable from the tests, so they
 * are written here): each is read without refusal, to the layers and width its alias lists, and
 * its parameter count from the shape (embeddings, an untied head, q/k/v/o, the gated MLP, the
 * norms) rounds to the alias's size. phi.test.ts, gptj.test.ts and mixtral.test.ts do the same
 * for Phi-2, Phi-3, GPT-J and Mixtral.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterFor } from '../../src/architectures/registry.js';
import type { HfConfig, ModelShape } from '../../src/architectures/types.js';
import { findAlias } from '../../src/models/aliases.js';

const GEMMA = {
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 2,
  eos_token_id: 1,
  pad_token_id: 0,
  rms_norm_eps: 1e-6,
  initializer_range: 0.02,
  use_cache: true,
  vocab_size: 256000,
};
const GEMMA1 = {
  ...GEMMA,
  architectures: ['GemmaForCausalLM'],
  model_type: 'gemma',
  hidden_act: 'gelu',
  max_position_embeddings: 8192,
  rope_scaling: null,
  rope_theta: 10000.0,
  torch_dtype: 'bfloat16',
  transformers_version: '4.38.0.dev0',
};
const GEMMA2 = {
  ...GEMMA,
  architectures: ['Gemma2ForCausalLM'],
  model_type: 'gemma2',
  attn_logit_softcapping: 50.0,
  cache_implementation: 'hybrid',
  final_logit_softcapping: 30.0,
  hidden_act: 'gelu_pytorch_tanh',
  hidden_activation: 'gelu_pytorch_tanh',
  max_position_embeddings: 8192,
  rope_theta: 10000.0,
  sliding_window: 4096,
  torch_dtype: 'float32',
  transformers_version: '4.42.4',
};

const RELEASED: Record<string, HfConfig> = {
  'gemma-2b': { ...GEMMA1, head_dim: 256, hidden_size: 2048, intermediate_size: 16384, num_attention_heads: 8, num_hidden_layers: 18, num_key_value_heads: 1 },
  'gemma-7b': {
    ...GEMMA1,
    head_dim: 256,
    hidden_size: 3072,
    intermediate_size: 24576,
    num_attention_heads: 16,
    num_hidden_layers: 28,
    num_key_value_heads: 16,
  },
  'gemma-2-2b': {
    ...GEMMA2,
    head_dim: 256,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_attention_heads: 8,
    num_hidden_layers: 26,
    num_key_value_heads: 4,
    query_pre_attn_scalar: 256,
  },
  'gemma-2-9b': {
    ...GEMMA2,
    head_dim: 256,
    hidden_size: 3584,
    intermediate_size: 14336,
    num_attention_heads: 16,
    num_hidden_layers: 42,
    num_key_value_heads: 8,
    query_pre_attn_scalar: 256,
  },
  'gemma-2-27b': {
    ...GEMMA2,
    head_dim: 128,
    hidden_size: 4608,
    intermediate_size: 36864,
    num_attention_heads: 32,
    num_hidden_layers: 46,
    num_key_value_heads: 16,
    query_pre_attn_scalar: 144,
  },
  'gemma-3-1b': {
    ...GEMMA,
    architectures: ['Gemma3ForCausalLM'],
    model_type: 'gemma3_text',
    attn_logit_softcapping: null,
    cache_implementation: 'hybrid',
    final_logit_softcapping: null,
    head_dim: 256,
    hidden_activation: 'gelu_pytorch_tanh',
    hidden_size: 1152,
    intermediate_size: 6912,
    max_position_embeddings: 32768,
    num_attention_heads: 4,
    num_hidden_layers: 26,
    num_key_value_heads: 1,
    query_pre_attn_scalar: 256,
    rope_local_base_freq: 10000,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: 512,
    sliding_window_pattern: 6,
    torch_dtype: 'bfloat16',
    transformers_version: '4.50.0.dev0',
    vocab_size: 262144,
  },
  'qwen3-0.6b': {
    architectures: ['Qwen3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: 128,
    hidden_act: 'silu',
    hidden_size: 1024,
    initializer_range: 0.02,
    intermediate_size: 3072,
    max_position_embeddings: 40960,
    max_window_layers: 28,
    model_type: 'qwen3',
    num_attention_heads: 16,
    num_hidden_layers: 28,
    num_key_value_heads: 8,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.51.0',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  },
  'olmo-1b': {
    architectures: ['OlmoForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    clip_qkv: null,
    eos_token_id: 50279,
    hidden_act: 'silu',
    hidden_size: 2048,
    initializer_range: 0.02,
    intermediate_size: 8192,
    max_position_embeddings: 2048,
    model_type: 'olmo',
    num_attention_heads: 16,
    num_hidden_layers: 16,
    num_key_value_heads: 16,
    pad_token_id: 1,
    pretraining_tp: 1,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    transformers_version: '4.40.0.dev0',
    use_cache: true,
    vocab_size: 50304,
  },
  'olmo-2-1b': {
    architectures: ['Olmo2ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    eos_token_id: 100257,
    hidden_act: 'silu',
    hidden_size: 2048,
    initializer_range: 0.02,
    intermediate_size: 8192,
    max_position_embeddings: 4096,
    model_type: 'olmo2',
    num_attention_heads: 16,
    num_hidden_layers: 16,
    num_key_value_heads: 16,
    pad_token_id: 100277,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 500000,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: 100352,
  },
};

/** Parameters of a model of gated-MLP blocks without biases (these families): embeddings, the head when untied, per layer q/k/v/o, gate/up/down and the norms' gains. */
function parameterCount(shape: ModelShape, config: HfConfig, tiedByDefault: boolean): number {
  const { nLayers, dModel, nHeads, nKvHeads, dHead, dMlp, dVocab } = shape.dims;
  const tied = typeof config.tie_word_embeddings === 'boolean' ? config.tie_word_embeddings : tiedByDefault;
  const gains = { pre: 2, sandwich: 4, post: 2 }[shape.normPlacement] * dModel;
  const qkNorms =
    shape.architecture === 'qwen3' || shape.architecture === 'gemma3_text' ? 2 * dHead : shape.architecture === 'olmo2' ? (nHeads + nKvHeads) * dHead : 0;
  const gainsOf = shape.architecture === 'olmo' ? 0 : gains + qkNorms; // OLMo's LayerNorms have no parameters
  const perLayer = dModel * (nHeads + 2 * nKvHeads) * dHead + nHeads * dHead * dModel + 3 * dModel * dMlp + gainsOf;
  return dVocab * dModel * (tied ? 1 : 2) + nLayers * perLayer + (shape.architecture === 'olmo' ? 0 : dModel);
}

/** An alias's size as people say it (2.6B, 0.6B, 27B) in parameters, and half its last digit: the rounding it allows. */
function sizeOf(size: string): { value: number; rounding: number } {
  const match = /^(\d+)(?:\.(\d+))?([MB])$/.exec(size);
  assert.ok(match, `size ${size}`);
  const unit = match[3] === 'B' ? 1e9 : 1e6;
  const decimals = match[2]?.length ?? 0;
  return { value: Number(`${match[1]}.${match[2] ?? '0'}`) * unit, rounding: (0.5 * unit) / 10 ** decimals };
}

describe("released configs of the aliases' checkpoints", () => {
  for (const [alias, config] of Object.entries(RELEASED)) {
    it(`${alias}: read from config.json alone to the alias's family, layers, width and size`, () => {
      const entry = findAlias(alias);
      assert.ok(entry, `${alias} is an alias`);
      const shape = adapterFor(config, 'config.json').readShape(config, 'config.json');
      assert.deepEqual([shape.architecture, shape.dims.nLayers, shape.dims.dModel], [entry.family, entry.nLayers, entry.dModel]);
      const { value, rounding } = sizeOf(entry.size);
      const count = parameterCount(shape, config, entry.family.startsWith('gemma'));
      assert.ok(Math.abs(count - value) <= rounding, `${alias}: ${count} parameters, listed as ${entry.size}`);
    });
  }

  it('the count can fail: Gemma 2 27B read with the 9B head_dim would be listed wrong', () => {
    const config = { ...RELEASED['gemma-2-27b']!, head_dim: 256 };
    const shape = adapterFor(config, 'config.json').readShape(config, 'config.json');
    const { value, rounding } = sizeOf(findAlias('gemma-2-27b')!.size);
    assert.ok(Math.abs(parameterCount(shape, config, true) - value) > rounding);
  });
});
