import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expandAttentionTypes } from '../../src/architectures/gpt-neo.js';
import { ModelError } from '../../src/errors.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import { removeTensors } from '../support/tiny-model.js';

describe('GPT-Neo adapter', () => {
  let root: string;
  let model: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gpt-neo-adapter-'));
    model = (await writeTinyGptNeo(join(root, 'tiny'), { dModel: 32, nHeads: 4, windowSize: 5 })).dir;
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const variant = async (name: string, change: (dir: string) => Promise<void>): Promise<string> => {
    const dir = join(root, name);
    await cp(model, dir, { recursive: true });
    await change(dir);
    return dir;
  };
  const editConfig = (edit: Record<string, unknown>) => async (dir: string) => {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, ...edit }));
  };
  const refusal = async (dir: string, message: RegExp): Promise<void> => {
    await assert.rejects(loadModel(dir), (error: unknown) => {
      assert.ok(error instanceof ModelError, String(error));
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /\n/, 'one line');
      return true;
    });
  };

  it('expands attention_types as GPTNeoConfig does', () => {
    assert.deepEqual(expandAttentionTypes([[['global', 'local'], 2]]), ['global', 'local', 'global', 'local']);
    assert.deepEqual(
      expandAttentionTypes([
        [['local'], 1],
        [['global'], 2],
      ]),
      ['local', 'global', 'global'],
    );
    assert.match(expandAttentionTypes([[['global', 'sparse'], 2]]) as string, /entry \[\["global","sparse"\],2\] is invalid/);
    assert.match(expandAttentionTypes('global') as string, /attention_types is "global"; expected a list/);
    assert.match(expandAttentionTypes([[['global'], 0]]) as string, /is invalid/);
    assert.match(expandAttentionTypes([[['global'], 1e9]]) as string, /more than 65536 layers/);
  });

  it('describes the model: nn.Linear layout, q/k/v without bias, scale 1, windows on local layers only', async () => {
    const { spec, adapter } = await loadModel(model);
    assert.equal(adapter.name, 'gpt_neo');
    assert.equal(spec.architecture, 'gpt_neo');
    assert.deepEqual(
      spec.blocks.map((block) => block.attention.window),
      [undefined, 5, undefined, 5],
    );
    assert.ok(spec.blocks.every((block) => block.attention.scale === 1));
    const qkv = spec.blocks[0]!.attention.qkv;
    assert.ok(qkv.kind === 'separate' && qkv.q.layout === 'out_in' && qkv.q.bias === undefined);
    assert.equal(qkv.kind === 'separate' && qkv.v.weight.tensor.name, 'transformer.h.0.attn.attention.v_proj.weight');
    assert.equal(spec.bosTokenId, 256);
    assert.equal(spec.positionEmbedding?.offset, 0);
  });

  it('refuses bad attention_types with one line naming the value', async () => {
    await refusal(
      await variant('bad-kind', editConfig({ attention_types: [[['global', 'sparse'], 2]], attention_layers: null })),
      /attention_types entry \[\["global","sparse"\],2\] is invalid; expected/,
    );
    await refusal(
      await variant('bad-count', editConfig({ attention_types: [[['global', 'local'], 3]], attention_layers: null })),
      /attention_types gives 6 layers but num_layers is 4/,
    );
    await refusal(
      await variant('disagreeing', editConfig({ attention_layers: ['local', 'local', 'global', 'local'] })),
      /attention_layers \["local","local","global","local"\] disagrees with attention_types/,
    );
  });

  it('names missing tensors', async () => {
    await refusal(
      await variant('missing', (dir) => removeTensors(dir, ['transformer.h.2.attn.attention.q_proj.weight'])),
      /missing tensor "transformer\.h\.2\.attn\.attention\.q_proj\.weight"/,
    );
  });
});
