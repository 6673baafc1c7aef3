/**
 * Issue 16, class 1: an output may never replace an input of the same command, however the
 * path is spelled (relative, `..`, a symlink to the file, a hard link, a symlinked folder, a
 * file not yet there in a symlinked folder). Each case: exit 2, one line naming both, and the
 * whole test folder (inputs, model, everything) unchanged.
 */
import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { runCli } from '../support/run-cli.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

interface Case {
  name: string;
  /** Paths are relative to the test folder, which is the working folder. */
  args: string[];
  message: RegExp;
}

describe('an output over an input of the same command is refused', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-clobber-'));
    const at = (...parts: string[]) => join(root, ...parts);
    await writeTinyGpt2(at('model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    await symlink('model', at('model-link'));
    await mkdir(at('p'));
    await writeFile(at('p', 'prompts.txt'), 'Hello there\n');
    await symlink('prompts.txt', at('p', 'prompts-link.txt'));
    await link(at('p', 'prompts.txt'), at('p', 'prompts-hard.txt'));
    await symlink('p', at('p-link'));
    await writeFile(at('p', 'r.json.checkpoint'), 'Hello checkpoint\n');
    const results = JSON.stringify(syntheticMeasurement({ nLayers: 4, sequences: 3, tokensPerSequence: 5 }));
    await mkdir(at('r'));
    for (const name of ['a.json', 'b.json', 's1.json', 's2.json', 'growth.svg', 'summary.md', 'fit.png']) await writeFile(at('r', name), results);
    await symlink('b.json', at('r', 'b-link.json'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const measure = (...rest: string[]) => ['measure', '--model', 'model', '--prompts', 'p/prompts.txt', ...rest];
  const cases: Case[] = [
    { name: 'measure --out the prompt file', args: measure('--out', 'p/prompts.txt'), message: /--out "p\/prompts\.txt" is the prompt file "p\/prompts\.txt"/ },
    { name: 'measure --out the prompt file spelled with ..', args: measure('--out', 'model/../p/./prompts.txt'), message: /is the prompt file/ },
    {
      name: 'measure --out the prompt file by absolute path',
      args: ['measure', '--model', 'model', '--prompts', 'p/prompts.txt', '--out', '@ABS@/p/prompts.txt'],
      message: /is the prompt file/,
    },
    { name: 'measure --out a symlink to the prompt file', args: measure('--out', 'p/prompts-link.txt'), message: /is the prompt file/ },
    { name: 'measure --out a hard link to the prompt file', args: measure('--out', 'p/prompts-hard.txt'), message: /is the prompt file/ },
    { name: 'measure --out the prompt file through a symlinked folder', args: measure('--out', 'p-link/prompts.txt'), message: /is the prompt file/ },
    {
      name: 'measure whose checkpoint would be the prompt file',
      args: ['measure', '--model', 'model', '--prompts', 'p/r.json.checkpoint', '--out', 'p-link/r.json'],
      message: /--out \(its checkpoint and tables\) ".*r\.json\.checkpoint" is the prompt file/,
    },
    { name: 'measure --out model.safetensors', args: measure('--out', 'model/model.safetensors'), message: /is the model file ".*model\.safetensors"/ },
    { name: 'measure --out config.json', args: measure('--out', 'model/config.json'), message: /is the model file ".*config\.json"/ },
    {
      name: 'measure --out tokenizer.json through a symlinked model folder',
      args: ['measure', '--model', 'model-link', '--prompts', 'p/prompts.txt', '--out', 'model/tokenizer.json'],
      message: /is the model file ".*tokenizer\.json"/,
    },
    {
      name: 'measure --out a weights index the loader would read, not there yet, in a symlinked folder',
      args: measure('--out', 'model-link/model.safetensors.index.json'),
      message: /is the model file ".*model\.safetensors\.index\.json"/,
    },
    {
      name: 'measure --out a PyTorch checkpoint the loader would read, not there yet',
      args: measure('--out', 'model/pytorch_model.bin'),
      message: /is the model file ".*pytorch_model\.bin"/,
    },
    {
      name: 'measure --out a PyTorch weights index, not there yet',
      args: measure('--out', 'model/pytorch_model.bin.index.json'),
      message: /is the model file ".*pytorch_model\.bin\.index\.json"/,
    },
    {
      name: 'weights --out model.safetensors',
      args: ['weights', '--model', 'model', '--out', 'model/model.safetensors'],
      message: /--out "model\/model\.safetensors" is the model file/,
    },
    {
      name: 'weights --out config.json through a symlinked folder',
      args: ['weights', '--model', 'model', '--out', 'model-link/config.json'],
      message: /is the model file ".*config\.json"/,
    },
    { name: 'fit --out its input', args: ['fit', 'r/a.json', '--out', 'r/a.json'], message: /--out "r\/a\.json" is the input file "r\/a\.json"/ },
    {
      name: 'fit --out its second input, spelled differently',
      args: ['fit', 'r/a.json', 'r/b.json', '--out', './r/../r/b.json'],
      message: /is the input file "r\/b\.json"/,
    },
    { name: 'fit --out a symlink to its input', args: ['fit', 'r/a.json', 'r/b.json', '--out', 'r/b-link.json'], message: /is the input file "r\/b\.json"/ },
    { name: 'merge -o a shard', args: ['merge', 'r/s1.json', 'r/s2.json', '-o', 'r/s1.json'], message: /--out "r\/s1\.json" is the shard file "r\/s1\.json"/ },
    {
      name: 'plot --out the folder of an input it would overwrite',
      args: ['plot', 'r/growth.svg', '--figures', 'growth', '--out', 'r'],
      message: /--out "r" would overwrite "growth\.svg", which is the input file/,
    },
    {
      name: 'plot --out the folder of the fit file it would overwrite',
      args: ['plot', 'r/a.json', '--fit', 'r/fit.png', '--format', 'png', '--out', 'r'],
      message: /would overwrite "fit\.png", which is the fit file/,
    },
    {
      name: 'report --out the folder of an input named summary.md',
      args: ['report', 'r/summary.md', '--out', 'r/../r'],
      message: /would overwrite "summary\.md", which is the input file/,
    },
  ];

  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const before = await snapshotTree(root);
      const args = testCase.args.map((arg) => arg.replace('@ABS@', root));
      const result = await runCli(args, { cwd: root });
      assert.equal(result.code, ExitCode.usage, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
      assert.match(lines[0]!, /^resid-norms: .*an output may not replace an input of the same command; choose another output path$/);
      assert.match(lines[0]!, testCase.message);
      assert.equal(result.stdout, '');
      assert.deepEqual(diffTrees(before, await snapshotTree(root)), [], 'nothing in the test folder changed');
    });
  }

  it('still writes an output beside its inputs under another name', async () => {
    const result = await runCli(['fit', 'r/a.json', '--out', 'r/a.fit.json'], { cwd: root });
    assert.equal(result.code, 0, result.stderr);
    await rm(join(root, 'r', 'a.fit.json'));
  });
});
