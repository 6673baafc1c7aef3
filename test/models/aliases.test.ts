import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARCHITECTURES } from '../../src/architectures/registry.js';
import { formatBytes } from '../../src/commands/models.js';
import { aliasPanel, EMBEDDED_MODELS, findAlias, MODEL_ALIASES, suggestAliases } from '../../src/models/aliases.js';
import { parseModelSpec } from '../../src/models/resolve-model.js';
import { DEMO_MODEL_DIR } from '../../src/package-paths.js';
import { FakeHub, fakeSha } from '../support/fake-hub.js';
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

describe('the embedded demo model', () => {
  it('is an alias, in any letter case, for its folder in the package (no download)', async () => {
    for (const spelling of ['demo-gpt2', 'DEMO-GPT2'])
      assert.deepEqual(await parseModelSpec(spelling), { kind: 'local', dir: DEMO_MODEL_DIR, id: 'demo-gpt2' });
    await assert.rejects(parseModelSpec('demo-gpt2@main'), /embedded in the package and has no revisions/);
    assert.ok(suggestAliases('demo-gpt').includes('demo-gpt2'), 'a typo of it is answered with it');
  });
});

/** The cells of the row whose first cell is `alias`. */
function rowOf(stdout: string, alias: string): string[] | undefined {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/))
    .find((cells) => cells[0] === alias);
}

describe('resid-norms models', () => {
  it('lists every alias with repo, family, layers, d_model, size and download, grouped by panel, then the architectures', async () => {
    const result = await runCli(['models'], { env: { HF_HUB_OFFLINE: '1' } });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    const panelLine = (panel: string) => lines.indexOf(panel);
    assert.ok(panelLine('Embedded (in the package, no download)') === 0, 'the demo model comes first');
    assert.ok(panelLine('OpenAI/Facebook') >= 0 && panelLine('EleutherAI') > panelLine('OpenAI/Facebook'));
    for (const entry of EMBEDDED_MODELS)
      assert.deepEqual(rowOf(result.stdout, entry.alias), [
        entry.alias,
        'models/demo-gpt2/',
        ARCHITECTURES[entry.family]!.family,
        String(entry.nLayers),
        String(entry.dModel),
        entry.size,
        'none',
      ]);
    for (const entry of MODEL_ALIASES) {
      const cells = rowOf(result.stdout, entry.alias);
      assert.deepEqual(cells, [
        entry.alias,
        entry.repo,
        ARCHITECTURES[entry.family]!.family,
        String(entry.nLayers),
        String(entry.dModel),
        entry.size,
        'unknown',
      ]);
      // Listed under its own panel: the nearest panel title above it.
      const line = lines.find((candidate) => candidate.trim().split(/\s{2,}/)[0] === entry.alias)!;
      const above = lines
        .slice(0, lines.indexOf(line))
        .reverse()
        .find((candidate) => candidate !== '' && !candidate.startsWith(' '));
      assert.equal(above, aliasPanel(entry), entry.alias);
    }
    assert.match(result.stdout, /unknown: HF_HUB_OFFLINE is set\./);
    const architectures = result.stdout.split('Supported architectures (config.json model_type):\n')[1]!.split('\n\n')[0]!;
    assert.deepEqual(
      architectures.split('\n').map((line) => line.trim().split(/\s{2,}/)),
      Object.values(ARCHITECTURES).map((adapter) => [adapter.name, adapter.family]),
    );
    for (const name of ['gpt2', 'gpt_neo', 'opt', 'gpt_neox', 'llama', 'mistral', 'qwen2']) assert.ok(ARCHITECTURES[name], `${name} is registered`);
  });

  it('asks the Hub what each alias would download (config, tokenizer, safetensors weights or their shards), else says unknown and why', async () => {
    const hub = new FakeHub();
    const bytes = (n: number) => Buffer.alloc(n, 1);
    hub.repos.set('openai-community/gpt2', {
      sha: fakeSha('gpt2'),
      // pytorch_model.bin and the README are not downloaded, so not counted.
      files: new Map([
        ['config.json', bytes(600)],
        ['tokenizer.json', bytes(1_300_000)],
        ['model.safetensors', bytes(2_000_000)],
        ['pytorch_model.bin', bytes(3_000_000)],
        ['README.md', bytes(10)],
      ]),
    });
    hub.repos.set('EleutherAI/pythia-70m', {
      sha: fakeSha('pythia'),
      files: new Map([
        ['config.json', bytes(500)],
        ['model.safetensors.index.json', bytes(400)],
        ['model-00001-of-00002.safetensors', bytes(1_000_000)],
        ['model-00002-of-00002.safetensors', bytes(500_000)],
      ]),
    });
    const url = await hub.start();
    try {
      const result = await runCli(['models'], { env: { HF_ENDPOINT: url } });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(rowOf(result.stdout, 'gpt2')?.at(-1), formatBytes(600 + 1_300_000 + 2_000_000));
      assert.equal(rowOf(result.stdout, 'gpt2-small')?.at(-1), '3.3 MB', 'an alias of the same repo has the same size');
      assert.equal(rowOf(result.stdout, 'pythia-70m')?.at(-1), formatBytes(500 + 400 + 1_500_000));
      assert.equal(rowOf(result.stdout, 'gpt2-xl')?.at(-1), 'unknown', 'a repo the Hub does not have');
      assert.match(result.stdout, /unknown: model repo "[^"]+" \(revision "main"\) not found/);
      const repos = new Set(hub.log.map((request) => request.url.split('/').slice(3, 5).join('/')));
      assert.equal(repos.size, new Set(MODEL_ALIASES.map((entry) => entry.repo)).size, 'one listing per repo');
    } finally {
      await hub.stop();
    }
  });

  it('writes sizes as the Hub shows them', () => {
    assert.equal(formatBytes(548_105_171), '548 MB');
    assert.equal(formatBytes(6_431_878_936), '6.43 GB');
    assert.equal(formatBytes(412_000), '412 kB');
    assert.equal(formatBytes(12), '12 B');
  });
});
