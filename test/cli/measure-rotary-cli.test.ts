import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { editConfig } from '../support/tiny-model.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';

describe('resid-norms measure refuses what the rotary architectures cannot do, in one line', () => {
  let root: string;
  let prompts: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-cli-rotary-'));
    prompts = join(root, 'prompts.txt');
    await writeFile(prompts, 'Hello there\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases = [
    {
      name: 'a RoPE type it does not reproduce',
      model: async () => {
        const { dir } = await writeTinyLlama(join(root, 'yarn'), { nLayers: 1 });
        await editConfig(dir, { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32 } });
        return dir;
      },
      extra: [] as string[],
      code: ExitCode.badModel,
      message: /^resid-norms: invalid .*config\.json": rope_scaling type "yarn" is not supported; supported RoPE types: default, linear, llama3$/,
    },
    {
      name: 'resid_mid of a parallel-residual model',
      model: async () => (await writeTinyGptNeox(join(root, 'pythia'), { nLayers: 1 })).dir,
      extra: ['--hooks', 'resid_mid'],
      code: ExitCode.usage,
      message:
        /^resid-norms: --hooks resid_mid not available for gpt_neox \(parallel-residual blocks have no resid_mid\); available: resid_pre, attn_out, mlp_out, resid_post$/,
    },
  ];
  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const outDir = join(root, `out-${testCase.name.replace(/\W+/g, '-')}`);
      const result = await runCli(['measure', '--model', await testCase.model(), '--prompts', prompts, '--out', join(outDir, 'r.json'), ...testCase.extra]);
      assert.equal(result.code, testCase.code, result.stderr);
      assert.match(result.stderr.trimEnd(), testCase.message);
      assert.equal(result.stdout, '');
      assert.deepEqual(await readdir(outDir).catch(() => []), [], 'no output file is left behind');
    });
  }
});
