import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OTHER_PANEL, comparePanels, modelFamily } from '../../src/figures/model-family.js';
import { estimateTextWidth } from '../../src/rendering/text-metrics.js';

describe('modelFamily', () => {
  it('puts the reference analysis’s 17 models in its two panels, named by alias or repo', () => {
    const openAiFacebook = ['distilgpt2', 'gpt2', 'gpt2-medium', 'openai-community/gpt2-large', 'gpt2-xl', 'opt-125m', 'facebook/opt-1.3b', 'opt-2.7b@main'];
    const eleuther = [
      'gpt-neo-125M',
      'gpt-neo-1.3B',
      'EleutherAI/gpt-neo-2.7B',
      'EleutherAI/pythia-70m',
      'EleutherAI/pythia-160m',
      'EleutherAI/pythia-410m',
      'EleutherAI/pythia-1b',
      'EleutherAI/pythia-1.4b',
      'EleutherAI/pythia-2.8b',
    ];
    for (const id of openAiFacebook) assert.equal(modelFamily({ id, architecture: 'x' }), 'OpenAI/Facebook', id);
    for (const id of eleuther) assert.equal(modelFamily({ id, architecture: 'x' }), 'EleutherAI', id);
  });

  it('names other repos by their owner, and local folders by their architecture', () => {
    assert.equal(modelFamily({ id: 'meta-llama/Llama-3.2-1B', architecture: 'llama' }), 'meta-llama');
    assert.equal(modelFamily({ id: 'my-gpt2-finetune', architecture: 'gpt2' }), 'OpenAI/Facebook');
    assert.equal(modelFamily({ id: 'tiny-neox', architecture: 'gpt_neox' }), 'EleutherAI');
    assert.equal(modelFamily({ id: 'tiny-gptj', architecture: 'gptj' }), 'EleutherAI');
    // The newer families, by the owner of their aliases' repos.
    const byArchitecture = {
      gemma: 'Google',
      gemma2: 'Google',
      gemma3_text: 'Google',
      qwen3: 'Qwen',
      phi: 'Microsoft',
      phi3: 'Microsoft',
      olmo: 'allenai',
      olmo2: 'allenai',
      mixtral: 'Mistral AI',
    };
    for (const [architecture, panel] of Object.entries(byArchitecture))
      assert.equal(modelFamily({ id: `my-${architecture}`, architecture }), panel, architecture);
    assert.equal(modelFamily({ id: 'some-folder', architecture: 'bert' }), OTHER_PANEL);
  });

  it('orders panels as the reference, then owners alphabetically, then the rest', () => {
    assert.deepEqual([OTHER_PANEL, 'meta-llama', 'EleutherAI', 'Qwen', 'OpenAI/Facebook'].sort(comparePanels), [
      'OpenAI/Facebook',
      'EleutherAI',
      'meta-llama',
      'Qwen',
      OTHER_PANEL,
    ]);
  });
});

describe('estimateTextWidth', () => {
  it('adds DejaVu Sans advance widths (a 1255, b 1300, c 1126 of 2048 units per em)', () => {
    const expected = ((1255 + 1300 + 1126) / 2048) * 10;
    assert.ok(Math.abs(estimateTextWidth('abc', 10) - expected) < 0.01, `${estimateTextWidth('abc', 10)} vs ${expected}`);
    assert.ok(estimateTextWidth('abc', 10, true) > estimateTextWidth('abc', 10));
    assert.equal(estimateTextWidth('漢字', 10), 20); // characters the font lacks: wide ones 1 em
  });
});
