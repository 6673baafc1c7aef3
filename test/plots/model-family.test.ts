import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OTHER_PANEL, modelFamily } from '../../src/plots/model-family.js';
import { estimateTextWidth } from '../../src/plots/text-metrics.js';

describe('modelFamily', () => {
  it('puts the reference analysis’s 17 models in its two panels', () => {
    const openAiFacebook = ['distilgpt2', 'openai-community/gpt2', 'gpt2-medium', 'gpt2-large', 'openai-community/gpt2-xl', 'facebook/opt-125m', 'facebook/opt-1.3b', 'facebook/opt-2.7b'];
    const eleuther = ['EleutherAI/gpt-neo-125M', 'EleutherAI/gpt-neo-1.3B', 'EleutherAI/gpt-neo-2.7B', 'EleutherAI/pythia-70m', 'EleutherAI/pythia-160m', 'EleutherAI/pythia-410m', 'EleutherAI/pythia-1b', 'EleutherAI/pythia-1.4b', 'EleutherAI/pythia-2.8b'];
    for (const id of openAiFacebook) assert.equal(modelFamily({ id, architecture: 'x' }), 'OpenAI / Facebook', id);
    for (const id of eleuther) assert.equal(modelFamily({ id, architecture: 'x' }), 'EleutherAI', id);
  });

  it('falls back on the architecture, then on "other models"', () => {
    assert.equal(modelFamily({ id: 'roneneldan/TinyStories-33M', architecture: 'gpt_neo' }), 'EleutherAI');
    assert.equal(modelFamily({ id: 'meta-llama/Llama-3.2-1B', architecture: 'llama' }), 'Meta Llama');
    assert.equal(modelFamily({ id: 'someone/model', architecture: 'bert' }), OTHER_PANEL);
    assert.equal(modelFamily({ id: 'optimus-prime', architecture: 'bert' }), OTHER_PANEL);
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
