import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import { removeTensors } from '../support/tiny-model.js';
import { writeTinyOpt } from '../support/tiny-opt.js';

describe('resid-norms measure refuses unsupported GPT-Neo and OPT variants', () => {
  let root: string;
  let opt: string;
  let neo: string;
  let prompts: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-neo-opt-cli-'));
    opt = (await writeTinyOpt(join(root, 'opt'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 })).dir;
    neo = (await writeTinyGptNeo(join(root, 'neo'), { dModel: 16, nHeads: 2, nCtx: 32 })).dir;
    prompts = join(root, 'prompts.txt');
    await writeFile(prompts, 'Hello there\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const variant = async (base: string, name: string, change: (dir: string) => Promise<void>): Promise<string> => {
    const dir = join(root, name);
    await cp(base, dir, { recursive: true });
    await change(dir);
    return dir;
  };
  const editConfig = (edit: Record<string, unknown>) => async (dir: string) => {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, ...edit }));
  };

  const cases: Array<{ name: string; model: () => Promise<string>; message: RegExp }> = [
    {
      name: 'post-LayerNorm OPT',
      model: () => variant(opt, 'post-ln', editConfig({ do_layer_norm_before: false })),
      message: /config\.json": do_layer_norm_before is false \(post-LayerNorm OPT, e\.g\. opt-350m\), which is not supported/,
    },
    {
      name: 'OPT with project_in',
      model: () => variant(opt, 'project-in', editConfig({ word_embed_proj_dim: 8 })),
      message: /word_embed_proj_dim 8 differs from hidden_size 16/,
    },
    {
      name: 'GPT-Neo with bad attention_types',
      model: () => variant(neo, 'bad-types', editConfig({ attention_types: [[['global', 'dilated'], 2]], attention_layers: null })),
      message: /attention_types entry \[\["global","dilated"\],2\] is invalid; expected a list of \[\[kinds…\], repeat\]/,
    },
    {
      name: 'GPT-Neo with a missing tensor',
      model: () => variant(neo, 'missing', (dir) => removeTensors(dir, ['transformer.h.1.mlp.c_fc.bias'])),
      message: /do not match the config: missing tensor "transformer\.h\.1\.mlp\.c_fc\.bias"/,
    },
  ];
  for (const testCase of cases) {
    it(`refuses ${testCase.name} with exit code ${ExitCode.badModel} and one line`, async () => {
      const outDir = join(root, `out-${testCase.name.replace(/\W+/g, '-')}`);
      const result = await runCli(['measure', '--model', await testCase.model(), '--prompts', prompts, '--out', join(outDir, 'r.json')]);
      assert.equal(result.code, ExitCode.badModel, result.stderr);
      assert.match(result.stderr, testCase.message);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /^resid-norms: /);
      assert.equal(result.stdout, '');
      assert.deepEqual(await readdir(outDir).catch(() => []), []);
    });
  }
});
