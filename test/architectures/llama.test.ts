import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../../src/errors.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { editConfig, removeTensors } from '../support/tiny-model.js';
import { writeTinyLlama, type TinyLlamaOptions } from '../support/tiny-llama.js';

describe('llama / mistral / qwen2 adapters', () => {
  let root: string;
  let count = 0;
  const folder = async (options: TinyLlamaOptions = {}, config: Record<string, unknown> = {}): Promise<string> => {
    const dir = (await writeTinyLlama(join(root, `m${count++}`), { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, ...options })).dir;
    await editConfig(dir, config);
    return dir;
  };
  const refuses = async (dir: string, message: RegExp) =>
    assert.rejects(loadModel(dir), (error: unknown) => {
      assert.ok(error instanceof ModelError, String(error));
      assert.match(error.message, message);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    });
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-llama-adapter-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('reads a Llama config: RMSNorm, grouped-query attention, SwiGLU, whole-head rotary', async () => {
    const { spec } = await loadModel(await folder());
    assert.equal(spec.architecture, 'llama');
    assert.deepEqual(spec.dims, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, dHead: 8, dMlp: 48, dVocab: 257, nCtx: 64 });
    assert.equal(spec.normalization, 'rmsnorm');
    assert.equal(spec.blocks[0]!.norm1?.eps, 1e-5);
    assert.equal(spec.blocks[0]!.mlp.kind, 'gated');
    assert.deepEqual(spec.blocks[0]!.attention.rotary, { rotaryDims: 8, base: 10000 });
    assert.equal(spec.blocks[0]!.attention.window, undefined);
    assert.equal(spec.blocks[0]!.attention.out.bias, undefined);
  });

  it('reads rope scaling from rope_scaling or rope_parameters', async () => {
    const linear = await loadModel(await folder({ rope: { type: 'linear', factor: 2 } }));
    assert.deepEqual(linear.spec.blocks[0]!.attention.rotary, { rotaryDims: 8, base: 10000, scaling: { kind: 'linear', factor: 2 } });
    const llama3 = await loadModel(
      await folder({ ropeConfig: 'rope-parameters', ropeTheta: 500000, rope: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4 } }),
    );
    assert.deepEqual(llama3.spec.blocks[0]!.attention.rotary, {
      rotaryDims: 8,
      base: 500000,
      scaling: { kind: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 64 },
    });
  });

  it('sliding windows: Mistral on every layer unless null (default 4096), Qwen2 per layer_types or max_window_layers', async () => {
    const windows = async (options: TinyLlamaOptions, config: Record<string, unknown> = {}) =>
      (await loadModel(await folder(options, config))).spec.blocks.map((b) => b.attention.window);
    assert.deepEqual(await windows({ modelType: 'mistral' }), [undefined, undefined]);
    assert.deepEqual(await windows({ modelType: 'mistral' }, { sliding_window: undefined }), [4096, 4096]);
    assert.deepEqual(await windows({ modelType: 'qwen2' }, { use_sliding_window: false, sliding_window: 8, max_window_layers: 1 }), [undefined, undefined]);
    assert.deepEqual(await windows({ modelType: 'qwen2' }, { use_sliding_window: true, sliding_window: 8, max_window_layers: 1 }), [undefined, 8]);
    assert.deepEqual(
      await windows({ modelType: 'qwen2' }, { use_sliding_window: true, sliding_window: 8, layer_types: ['sliding_attention', 'full_attention'] }),
      [8, undefined],
    );
  });

  it('refuses unsupported rope types, naming the type and the supported ones', async () => {
    await refuses(
      await folder({ rope: { rope_type: 'yarn', factor: 4 } }),
      /rope_scaling type "yarn" is not supported; supported RoPE types: default, linear, llama3/,
    );
    await refuses(
      await folder({ ropeConfig: 'rope-parameters', rope: { rope_type: 'dynamic', factor: 2 } }),
      /rope_parameters type "dynamic" is not supported/,
    );
    await refuses(await folder({ rope: { rope_type: 'llama3', factor: 8, high_freq_factor: 4 } }), /rope_scaling of type "llama3" has no low_freq_factor/);
  });

  it('refuses heads that do not divide hidden_size (without head_dim) and kv heads that do not divide heads', async () => {
    await refuses(
      await folder({}, { num_attention_heads: 5, num_key_value_heads: 5 }),
      /num_attention_heads 5 does not divide hidden_size 32 \(and no head_dim is given\)/,
    );
    await refuses(await folder({}, { num_key_value_heads: 3 }), /num_key_value_heads 3 does not divide num_attention_heads 4/);
  });

  it('refuses an activation the graph does not implement, naming it and the supported ones', async () => {
    await refuses(await folder({}, { hidden_act: 'quick_gelu' }), /hidden_act "quick_gelu" is not supported; supported: .*silu/);
  });

  it('refuses partial rotary, which the Llama layout does not have', async () => {
    await refuses(await folder({}, { partial_rotary_factor: 0.5 }), /partial rotary \(4 of 8 head dimensions\) is not supported for llama/);
  });

  it('names missing tensors: dropped weights, and Qwen2 biases absent from a Llama checkpoint', async () => {
    const dir = await folder();
    await removeTensors(dir, ['model.layers.1.mlp.up_proj.weight', 'model.layers.0.self_attn.o_proj.weight']);
    await refuses(dir, /missing tensor "model\.layers\.0\.self_attn\.o_proj\.weight"; missing tensor "model\.layers\.1\.mlp\.up_proj\.weight"/);
    await refuses(await folder({}, { model_type: 'qwen2' }), /missing tensor "model\.layers\.0\.self_attn\.q_proj\.bias"/);
  });

  it('refuses a malformed sliding_window', async () => {
    await refuses(await folder({ modelType: 'mistral' }, { sliding_window: 0 }), /sliding_window is 0; expected a positive integer or null/);
  });
});
