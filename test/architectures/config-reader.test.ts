import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigReader, type DimensionKeys } from '../../src/architectures/config-reader.js';
import { ModelError } from '../../src/errors.js';

const GPT2_KEYS: DimensionKeys = { nLayers: 'n_layer', dModel: 'n_embd', nHeads: 'n_head', dMlp: 'n_inner', mlpRatio: 4, nCtx: ['n_positions', 'n_ctx'] };
const GPT2_CONFIG = { n_layer: 2, n_embd: 64, n_head: 4, vocab_size: 257, n_ctx: 128 };

/** The message of the ModelError that finish() throws after reading `keys` from `config`. */
function problems(config: Record<string, unknown>, keys: DimensionKeys): string {
  const reader = new ConfigReader(config, 'config.json');
  reader.evenHeadDims(keys);
  try {
    reader.finish();
  } catch (error) {
    assert.ok(error instanceof ModelError);
    return error.message;
  }
  assert.fail('expected the config to be refused');
}

describe('ConfigReader.evenHeadDims', () => {
  it('reads the dimensions under the family’s keys, d_mlp from its ratio when absent', () => {
    const reader = new ConfigReader(GPT2_CONFIG, 'config.json');
    assert.deepEqual(reader.evenHeadDims(GPT2_KEYS), { nLayers: 2, dModel: 64, nHeads: 4, nKvHeads: 4, dHead: 16, dMlp: 256, dVocab: 257, nCtx: 128 });
    reader.finish();
    assert.equal(new ConfigReader({ ...GPT2_CONFIG, n_inner: 100 }, 'config.json').evenHeadDims(GPT2_KEYS).dMlp, 100);
  });

  it('names heads that do not divide d_model with the family’s first key names', () => {
    assert.match(problems({ ...GPT2_CONFIG, n_head: 5 }, GPT2_KEYS), /invalid "config\.json": n_head 5 does not divide n_embd 64$/);
    const neoKeys: DimensionKeys = {
      nLayers: ['num_layers', 'num_hidden_layers'],
      dModel: 'hidden_size',
      nHeads: ['num_heads', 'num_attention_heads'],
      dMlp: 'intermediate_size',
      mlpRatio: 4,
      nCtx: 'max_position_embeddings',
    };
    assert.match(
      problems({ num_layers: 2, hidden_size: 30, num_attention_heads: 4, vocab_size: 9, max_position_embeddings: 8 }, neoKeys),
      /num_heads 4 does not divide hidden_size 30/,
    );
  });

  it('requires d_mlp when the family has no ratio, and reports every problem at once', () => {
    const keys: DimensionKeys = {
      nLayers: 'num_hidden_layers',
      dModel: 'hidden_size',
      nHeads: 'num_attention_heads',
      dMlp: 'ffn_dim',
      nCtx: 'max_position_embeddings',
    };
    const message = problems({ num_hidden_layers: 0, hidden_size: 32, num_attention_heads: 4, vocab_size: 9 }, keys);
    assert.match(message, /num_hidden_layers is 0; expected a positive integer/);
    assert.match(message, /missing ffn_dim/);
    assert.match(message, /missing max_position_embeddings/);
  });
});
