import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../../src/errors.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { editConfig, removeTensors } from '../support/tiny-model.js';
import { writeTinyGptNeox, type TinyGptNeoxOptions } from '../support/tiny-gpt-neox.js';

describe('gpt_neox adapter', () => {
  let root: string;
  let count = 0;
  const folder = async (options: TinyGptNeoxOptions = {}, config: Record<string, unknown> = {}): Promise<string> => {
    const dir = (await writeTinyGptNeox(join(root, `m${count++}`), { nLayers: 2, dModel: 64, nHeads: 4, keys: 'base-model', ...options })).dir;
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
    root = await mkdtemp(join(tmpdir(), 'rn-neox-adapter-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('reads a Pythia config: per-head fused qkv, rotary on rotary_pct of each head, parallel residual', async () => {
    const { spec } = await loadModel(await folder({ keys: 'causal-lm' }));
    assert.equal(spec.architecture, 'gpt_neox');
    assert.deepEqual(spec.dims, { nLayers: 2, dModel: 64, nHeads: 4, nKvHeads: 4, dHead: 16, dMlp: 256, dVocab: 264, nCtx: 64 });
    const attention = spec.blocks[1]!.attention;
    assert.equal(attention.qkv.kind, 'fused-per-head');
    assert.equal(attention.qkv.kind === 'fused-per-head' && attention.qkv.linear.weight.tensor.name, 'gpt_neox.layers.1.attention.query_key_value.weight');
    assert.deepEqual(attention.rotary, { rotaryDims: 4, base: 10000 });
    assert.equal(attention.scale, 0.25);
    assert.equal(spec.parallelResidual, true);
    assert.equal(spec.positionEmbedding, undefined);
    assert.equal(spec.bosTokenId, 256);
    assert.equal(spec.blocks[0]!.mlp.kind === 'dense' && spec.blocks[0]!.mlp.activation, 'gelu');
  });

  it('prefers rope_parameters over rotary_pct / rotary_emb_base, as transformers does', async () => {
    const dir = await folder(
      {},
      { rotary_pct: 0.25, rotary_emb_base: 10000, rope_parameters: { rope_type: 'default', rope_theta: 500, partial_rotary_factor: 0.5 } },
    );
    assert.deepEqual((await loadModel(dir)).spec.blocks[0]!.attention.rotary, { rotaryDims: 8, base: 500 });
  });

  it('defaults to rotary_pct 0.25, sequential blocks when use_parallel_residual is false, and no attention biases when attention_bias is false', async () => {
    const dir = await folder({ parallelResidual: false, attentionBias: false }, { rotary_pct: undefined });
    const { spec } = await loadModel(dir);
    assert.equal(spec.blocks[0]!.attention.rotary!.rotaryDims, 4);
    assert.equal(spec.parallelResidual, false);
    assert.equal(spec.blocks[0]!.attention.out.bias, undefined);
  });

  it('refuses heads that do not divide hidden_size', async () => {
    await refuses(await folder({}, { num_attention_heads: 5 }), /num_attention_heads 5 does not divide hidden_size 64/);
  });

  it('refuses a rotary fraction that rotates an odd number of features', async () => {
    await refuses(await folder({}, { rotary_pct: 0.2 }), /rotary_pct 0\.2 rotates 3 of 16 head dimensions; expected an even number from 2 to 16/);
  });

  it('refuses RoPE scaling it does not reproduce, naming the type and what is supported', async () => {
    await refuses(
      await folder({}, { rope_scaling: { type: 'dynamic', factor: 2 } }),
      /rope_scaling type "dynamic" is not supported; supported RoPE types: default, linear, llama3/,
    );
  });

  it('names missing tensors and wrong shapes in one line', async () => {
    const dir = await folder();
    await removeTensors(dir, ['layers.1.attention.dense.weight']);
    await refuses(dir, /missing tensor "layers\.1\.attention\.dense\.weight"/);
    await refuses(await folder({}, { intermediate_size: 100 }), /tensor "layers\.0\.mlp\.dense_h_to_4h\.weight" has shape \[256, 64\]; expected \[100, 64\]/);
  });

  it('refuses an activation it does not implement', async () => {
    await refuses(await folder({}, { hidden_act: 'quick_gelu' }), /hidden_act "quick_gelu" is not supported; supported: /);
  });
});
