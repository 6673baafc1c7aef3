/** `measure --diagnostics` / `--massive-dims` from the command line: bad values refused in one line, exit 2, nothing written. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

describe('measure --diagnostics on the command line', () => {
  let dir: string;
  let model: string;
  let prompts: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-diagnostics-cli-'));
    model = (await writeTinyGpt2(join(dir, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 64 })).dir;
    prompts = join(dir, 'prompts.txt');
    await writeFile(prompts, 'one prompt\nand another one\n');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const cases: Array<[string, string[], RegExp]> = [
    [
      'an unknown diagnostic',
      ['--diagnostics', 'cosines,logits'],
      /option '--diagnostics <list>' argument 'cosines,logits' is invalid\. unknown diagnostic "logits"; valid: cosines, massive, massive-median, massive-sequence, sinks, heads, lens \(see --help\)$/,
    ],
    [
      'a dimension that is not a number',
      ['--diagnostics', 'massive', '--massive-dims', '3,x'],
      /expected dimensions 0…65535 separated by commas, got "x" \(see --help\)$/,
    ],
    [
      'a dimension beyond d_model',
      ['--diagnostics', 'massive', '--massive-dims', '3,16'],
      /--massive-dims 16 is not a dimension of the residual stream of this model; valid: 0…15$/,
    ],
    ['--massive-dims without massive', ['--diagnostics', 'sinks', '--massive-dims', '3'], /--massive-dims 3 needs --diagnostics massive/],
    [
      '--sink-tokens 0',
      ['--diagnostics', 'sinks', '--sink-tokens', '0'],
      /option '--sink-tokens <k>' argument '0' is invalid\. expected a whole number from 1 to 16777216, got "0"/,
    ],
    [
      '--sink-tokens beyond the context',
      ['--diagnostics', 'sinks', '--sink-tokens', '65'],
      /--sink-tokens 65 is not a number of positions of this model; valid: 1…64 \(its context length\)$/,
    ],
    ['--no-fold-value-biases without heads', ['--diagnostics', 'sinks', '--no-fold-value-biases'], /--no-fold-value-biases needs --diagnostics heads/],
  ];
  for (const [name, args, message] of cases) {
    it(`refuses ${name}`, async () => {
      const out = join(dir, name.replace(/\W+/g, '-'), 'r.json');
      const result = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, ...args]);
      assert.equal(result.code, ExitCode.usage, result.stderr);
      const lines = result.stderr
        .trimEnd()
        .split('\n')
        .filter((line) => !/^resid-norms: (info|warning)|^\s*$/.test(line));
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /^resid-norms: /);
      assert.match(lines[0]!, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
      assert.equal(result.stdout, '');
      assert.deepEqual(await readdir(join(out, '..')).catch(() => []), [], 'nothing written');
    });
  }

  it('refuses the lens on a model without an output head in one line, exit 4, nothing written', async () => {
    const headless = (await writeTinyGptNeox(join(dir, 'headless'), { nLayers: 1, dModel: 16, nHeads: 2, keys: 'base-model' })).dir;
    const out = join(dir, 'headless-out', 'r.json');
    const result = await runCli(['-q', 'measure', '--model', headless, '--prompts', prompts, '--out', out, '--diagnostics', 'lens']);
    assert.equal(result.code, ExitCode.badModel, result.stderr);
    const lines = result.stderr
      .trimEnd()
      .split('\n')
      .filter((line) => !/^resid-norms: (info|warning)|^\s*$/.test(line));
    assert.deepEqual(lines, [
      'resid-norms: --diagnostics lens reads the model\'s final norm and unembedding, which this gpt_neox checkpoint does not give (missing tensor "embed_out.weight"); measure without lens',
    ]);
    assert.equal(result.stdout, '');
    assert.deepEqual(await readdir(join(out, '..')).catch(() => []), [], 'nothing written');
  });

  it('measures with diagnostics and says so in the results file', async () => {
    const out = join(dir, 'ok', 'r.json');
    const result = await runCli([
      '-q',
      'measure',
      '--model',
      model,
      '--prompts',
      prompts,
      '--out',
      out,
      '--diagnostics',
      'massive,cosines,sinks,heads',
      '--massive-dims',
      '5',
      '--sink-tokens',
      '3',
      '--no-fold-value-biases',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(join(dir, 'ok'))).sort(), ['r.json', 'r.prompts.parquet', 'r.tokens.parquet']);
    const recorded = (JSON.parse(await readFile(out, 'utf8')) as { diagnostics: { sinkTokens: number; headValueBiases: string; columns: string[] } })
      .diagnostics;
    assert.equal(recorded.sinkTokens, 3);
    assert.equal(recorded.headValueBiases, 'unfolded');
    assert.ok(recorded.columns.includes('sink_mass_first_3'));
  });

  it('measures shards with diagnostics, and merge combines them with their columns', async () => {
    const shards = [1, 2].map((i) => join(dir, 'shards', `r.shard-${i}-of-2.json`));
    for (const [i, out] of shards.entries()) {
      const result = await runCli([
        '-q',
        'measure',
        '--model',
        model,
        '--prompts',
        prompts,
        '--out',
        out,
        '--diagnostics',
        'heads,massive',
        '--massive-dims',
        '5',
        '--shard',
        `${i + 1}/2`,
      ]);
      assert.equal(result.code, 0, result.stderr);
    }
    const merged = join(dir, 'shards', 'merged.json');
    const result = await runCli(['merge', ...shards, '-o', merged]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /wrote .*merged\.json \(2 prompts from 2 shards\)/);
    const diagnostics = (JSON.parse(await readFile(merged, 'utf8')) as { diagnostics: { selected: string[]; massiveDims: number[] } }).diagnostics;
    assert.deepEqual([diagnostics.selected, diagnostics.massiveDims], [['massive', 'heads'], [5]]);
  });
});
