/**
 * The output head every adapter describes for the logit lens (final norm + W_U): which tensors,
 * tied or not, and that a missing or misshapen head leaves the model loadable (norms do not
 * need it) with the problem named for `--diagnostics lens`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TransformerSpec } from '../../src/architectures/types.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { writeSafetensors, type TensorToWrite } from '../support/safetensors-writer.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { editConfig, removeTensors } from '../support/tiny-model.js';
import { writeTinyOpt } from '../support/tiny-opt.js';

/** What a head names: the final norm's gain and bias, W_U, tied. */
function headOf(spec: TransformerSpec): { finalNorm: string[] | null; kind?: string; unembedding: string; tied: boolean } {
  const head = spec.outputHead;
  if ('unavailable' in head) throw new Error(`head unavailable: ${head.unavailable}`);
  const norm = head.finalNorm;
  return {
    finalNorm: norm ? [norm.weight!.tensor.name, ...(norm.bias ? [norm.bias.tensor.name] : [])] : null,
    ...(norm ? { kind: norm.kind } : {}),
    unembedding: head.unembedding.tensor.name,
    tied: head.tied,
  };
}

function unavailable(spec: TransformerSpec): string {
  assert.ok('unavailable' in spec.outputHead, 'the head should be unavailable');
  return spec.outputHead.unavailable;
}

/** Rewrite one tensor of a model folder with another shape (random-free: zeros). */
async function reshapeTensor(dir: string, name: string, shape: number[]): Promise<void> {
  const index = await readWeightIndex(dir);
  const tensors: TensorToWrite[] = [];
  for (const [key, info] of index.tensors) {
    if (!['F32', 'F16', 'BF16'].includes(info.dtype)) continue;
    tensors.push(
      key === name
        ? { name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }
        : { name: key, shape: info.shape, data: await readTensorValues(info) },
    );
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
}

describe('output head of each architecture (logit lens)', () => {
  let root: string;
  let count = 0;
  const next = () => join(root, `m${count++}`);
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-output-head-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('gpt2: ln_f and the tied wte, or lm_head when tie_word_embeddings is false; base-model keys too', async () => {
    assert.deepEqual(headOf((await loadModel((await writeTinyGpt2(next())).dir)).spec), {
      finalNorm: ['transformer.ln_f.weight', 'transformer.ln_f.bias'],
      kind: 'layernorm',
      unembedding: 'transformer.wte.weight',
      tied: true,
    });
    assert.deepEqual(headOf((await loadModel((await writeTinyGpt2(next(), { tied: false })).dir)).spec).unembedding, 'lm_head.weight');
    assert.deepEqual(headOf((await loadModel((await writeTinyGpt2(next(), { keys: 'base-model' })).dir)).spec), {
      finalNorm: ['ln_f.weight', 'ln_f.bias'],
      kind: 'layernorm',
      unembedding: 'wte.weight',
      tied: true,
    });
  });

  it('gpt-neo: ln_f and the tied wte', async () => {
    assert.deepEqual(headOf((await loadModel((await writeTinyGptNeo(next())).dir)).spec), {
      finalNorm: ['transformer.ln_f.weight', 'transformer.ln_f.bias'],
      kind: 'layernorm',
      unembedding: 'transformer.wte.weight',
      tied: true,
    });
  });

  it('gpt-neox: final_layer_norm and the untied embed_out, or embed_in when tied; a GPTNeoXModel checkpoint has no head', async () => {
    assert.deepEqual(headOf((await loadModel((await writeTinyGptNeox(next())).dir)).spec), {
      finalNorm: ['gpt_neox.final_layer_norm.weight', 'gpt_neox.final_layer_norm.bias'],
      kind: 'layernorm',
      unembedding: 'embed_out.weight',
      tied: false,
    });
    assert.deepEqual(headOf((await loadModel((await writeTinyGptNeox(next(), { tied: true })).dir)).spec).unembedding, 'gpt_neox.embed_in.weight');
    const base = await loadModel((await writeTinyGptNeox(next(), { keys: 'base-model' })).dir);
    assert.equal(base.spec.blocks.length, 2, 'the model itself still loads');
    assert.equal(unavailable(base.spec), 'missing tensor "embed_out.weight"');
  });

  it('llama: model.norm (RMSNorm) and lm_head, embed_tokens when tied or when the checkpoint has no lm_head', async () => {
    assert.deepEqual(headOf((await loadModel((await writeTinyLlama(next())).dir)).spec), {
      finalNorm: ['model.norm.weight'],
      kind: 'rmsnorm',
      unembedding: 'lm_head.weight',
      tied: false,
    });
    assert.deepEqual(headOf((await loadModel((await writeTinyLlama(next(), { tied: true })).dir)).spec).unembedding, 'model.embed_tokens.weight');
    const dir = (await writeTinyLlama(next())).dir;
    await removeTensors(dir, ['lm_head.weight']);
    assert.deepEqual(headOf((await loadModel(dir)).spec), {
      finalNorm: ['model.norm.weight'],
      kind: 'rmsnorm',
      unembedding: 'model.embed_tokens.weight',
      tied: true,
    });
    assert.equal(headOf((await loadModel((await writeTinyLlama(next(), { modelType: 'qwen2', tied: true })).dir)).spec).tied, true);
  });

  it('opt: the decoder’s final_layer_norm (none with _remove_final_layer_norm) and the tied embed_tokens', async () => {
    const dir = (await writeTinyOpt(next())).dir;
    assert.deepEqual(headOf((await loadModel(dir)).spec), {
      finalNorm: ['model.decoder.final_layer_norm.weight', 'model.decoder.final_layer_norm.bias'],
      kind: 'layernorm',
      unembedding: 'model.decoder.embed_tokens.weight',
      tied: true,
    });
    await editConfig(dir, { _remove_final_layer_norm: true });
    assert.deepEqual(headOf((await loadModel(dir)).spec), { finalNorm: null, unembedding: 'model.decoder.embed_tokens.weight', tied: true });
  });

  it('a missing, misshapen or unreadable head leaves the model loadable and names every problem in one line', async () => {
    const missing = (await writeTinyGpt2(next())).dir;
    await removeTensors(missing, ['transformer.ln_f.bias']);
    assert.equal(unavailable((await loadModel(missing)).spec), 'missing tensor "transformer.ln_f.bias"');

    const misshapen = (await writeTinyLlama(next())).dir;
    await reshapeTensor(misshapen, 'lm_head.weight', [256, 32]);
    assert.equal(unavailable((await loadModel(misshapen)).spec), 'tensor "lm_head.weight" has shape [256, 32]; expected [257, 32]');

    const untied = (await writeTinyGpt2(next())).dir;
    await editConfig(untied, { tie_word_embeddings: false });
    assert.equal(unavailable((await loadModel(untied)).spec), 'missing tensor "lm_head.weight"');

    const bad = (await writeTinyGptNeox(next())).dir;
    await editConfig(bad, { tie_word_embeddings: 'yes' });
    const message = unavailable((await loadModel(bad)).spec);
    assert.equal(message, 'tie_word_embeddings is "yes"; expected true or false');
    assert.ok(!message.includes('\n'));
  });
});
