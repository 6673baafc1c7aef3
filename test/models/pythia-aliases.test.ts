import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findAlias, MODEL_ALIASES } from '../../src/models/aliases.js';
import { parseModelSpec } from '../../src/models/resolve-model.js';

describe('Pythia aliases', () => {
  it('lists pythia-70m … 2.8b with their layers and widths (Pythia paper, table 1)', () => {
    const pythia = MODEL_ALIASES.filter((entry) => entry.family === 'pythia').map(({ alias, nLayers, dModel }) => [alias, nLayers, dModel]);
    assert.deepEqual(pythia, [
      ['pythia-70m', 6, 512],
      ['pythia-160m', 12, 768],
      ['pythia-410m', 24, 1024],
      ['pythia-1b', 16, 2048],
      ['pythia-1.4b', 24, 2048],
      ['pythia-2.8b', 32, 2560],
    ]);
    assert.equal(findAlias('Pythia-410M')?.repo, 'EleutherAI/pythia-410m');
  });

  it('reaches -deduped twins and training checkpoints through the repo@revision syntax', async () => {
    assert.deepEqual(await parseModelSpec('EleutherAI/pythia-410m-deduped@step3000'), {
      kind: 'hub',
      repo: 'EleutherAI/pythia-410m-deduped',
      revision: 'step3000',
      id: 'EleutherAI/pythia-410m-deduped@step3000',
    });
  });
});
