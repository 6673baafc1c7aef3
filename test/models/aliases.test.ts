import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARCHITECTURES } from '../../src/architectures/registry.js';
import { formatModelTable } from '../../src/cli/models-command.js';
import { aliasPanel, findAlias, MODEL_ALIASES, suggestAliases } from '../../src/models/aliases.js';
import { parseModelSpec } from '../../src/models/resolve-model.js';
import { runCli } from '../support/run-cli.js';

/** The models of the reference comparison (figure 8) this branch provides, by panel. */
const REFERENCE_MODELS: Record<string, string[]> = {
  'OpenAI/Facebook': ['distilgpt2', 'gpt2', 'gpt2-medium', 'gpt2-large', 'gpt2-xl', 'opt-125m', 'opt-1.3b', 'opt-2.7b'],
  EleutherAI: ['gpt-neo-125M', 'gpt-neo-1.3B', 'gpt-neo-2.7B', 'pythia-70m', 'pythia-160m', 'pythia-410m', 'pythia-1b', 'pythia-1.4b', 'pythia-2.8b'],
};

describe('model aliases', () => {
  it('has every model of the reference comparison, in its panel', () => {
    for (const [panel, aliases] of Object.entries(REFERENCE_MODELS)) {
      for (const alias of aliases) {
        const entry = findAlias(alias);
        assert.ok(entry, `${alias} is an alias`);
        assert.equal(aliasPanel(entry), panel, alias);
      }
    }
  });

  it('resolves every alias, in any letter case, to its Hub repo at main', async () => {
    for (const entry of MODEL_ALIASES) {
      for (const spelling of [entry.alias, entry.alias.toUpperCase(), entry.alias.toLowerCase()]) {
        assert.deepEqual(await parseModelSpec(spelling), { kind: 'hub', repo: entry.repo, revision: 'main', id: entry.alias }, spelling);
      }
      assert.match(entry.repo, /^[\w.-]+\/[\w.-]+$/);
    }
  });

  it('is unique ignoring case, and every family is a supported architecture', () => {
    const names = MODEL_ALIASES.map((entry) => entry.alias.toLowerCase());
    assert.equal(new Set(names).size, names.length);
    for (const entry of MODEL_ALIASES) assert.ok(ARCHITECTURES[entry.family], `${entry.alias}: family ${entry.family} is registered`);
  });

  it('gives the Pythia models the layers and widths of the Pythia paper (table 1)', () => {
    const pythia = MODEL_ALIASES.filter((entry) => entry.family === 'gpt_neox').map(({ alias, nLayers, dModel }) => [alias, nLayers, dModel]);
    assert.deepEqual(pythia, [
      ['pythia-70m', 6, 512],
      ['pythia-160m', 12, 768],
      ['pythia-410m', 24, 1024],
      ['pythia-1b', 16, 2048],
      ['pythia-1.4b', 24, 2048],
      ['pythia-2.8b', 32, 2560],
    ]);
  });

  it('reaches Pythia -deduped twins and training checkpoints through the repo@revision syntax', async () => {
    assert.deepEqual(await parseModelSpec('EleutherAI/pythia-410m-deduped@step3000'), {
      kind: 'hub',
      repo: 'EleutherAI/pythia-410m-deduped',
      revision: 'step3000',
      id: 'EleutherAI/pythia-410m-deduped@step3000',
    });
  });

  it('suggests near aliases for typos', () => {
    assert.ok(suggestAliases('opt-125').includes('opt-125m'));
    assert.ok(suggestAliases('gpt-neo-1.3').includes('gpt-neo-1.3B'));
  });
});

describe('resid-norms models', () => {
  it('lists every alias with repo, family, layers, d_model and size, grouped by panel, then the architectures', async () => {
    const result = await runCli(['models']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, formatModelTable());
    const lines = result.stdout.split('\n');
    const panelLine = (panel: string) => lines.indexOf(panel);
    assert.ok(panelLine('OpenAI/Facebook') >= 0 && panelLine('EleutherAI') > panelLine('OpenAI/Facebook'));
    for (const entry of MODEL_ALIASES) {
      const line = lines.find((candidate) => candidate.trim().split(/\s{2,}/)[0] === entry.alias);
      assert.ok(line, `${entry.alias} is listed`);
      const cells = line.trim().split(/\s{2,}/);
      assert.deepEqual(cells, [entry.alias, entry.repo, ARCHITECTURES[entry.family]!.family, String(entry.nLayers), String(entry.dModel), entry.size]);
      // Listed under its own panel: the nearest panel title above it.
      const above = lines.slice(0, lines.indexOf(line)).reverse().find((candidate) => candidate !== '' && !candidate.startsWith(' '));
      assert.equal(above, aliasPanel(entry), entry.alias);
    }
    const architectures = result.stdout.split('Supported architectures (config.json model_type):\n')[1]!.split('\n\n')[0]!;
    assert.deepEqual(
      architectures.split('\n').map((line) => line.trim().split(/\s{2,}/)),
      Object.values(ARCHITECTURES).map((adapter) => [adapter.name, adapter.family]),
    );
    for (const name of ['gpt2', 'gpt_neo', 'opt', 'gpt_neox', 'llama', 'mistral', 'qwen2']) assert.ok(ARCHITECTURES[name], `${name} is registered`);
  });
});
