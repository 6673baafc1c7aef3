import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

describe('resid-norms weights, end to end', () => {
  let root: string;
  let model: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-weights-cli-'));
    model = (await writeTinyGpt2(join(root, 'tiny-model'), { nLayers: 4, dModel: 16, nHeads: 2, nCtx: 16 })).dir;
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('writes the weights file and prints the per-layer table', async () => {
    const out = join(root, 'out', 'w.json');
    const result = await runCli(['weights', '--model', model, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^processed weights: Frobenius \/ L2 norms/);
    assert.match(lines[1]!, /^layer +W_OV +b_O +W_in +W_out +b_out +W_inW_out +b_inW_out +ln1\.w +ln2\.w$/);
    assert.equal(lines.length, 2 + 4);
    lines.slice(2).forEach((line, layer) => assert.match(line, new RegExp(`^ +${layer}( +\\d+\\.\\d+){9}$`)));
    assert.match(result.stderr, /^wrote .*w\.json \(4 layers, 0\.\d MB of weights read in \d+\.\d s\)\n$/);
    const file = await readWeightsFile(out);
    assert.equal(file.model.id, 'tiny-model');
    assert.equal(file.layers.length, 4);
  });

  it('writes results/<model>.weights.json in the working folder by default, and --quiet silences stderr', async () => {
    const cwd = join(root, 'cwd');
    await mkdir(cwd);
    const result = await runCli(['--quiet', 'weights', '--model', model], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.deepEqual(await readdir(join(cwd, 'results')), ['tiny-model.weights.json']);
  });

  const badModel = async (name: string, change: (dir: string) => Promise<void>): Promise<string> => {
    const dir = join(root, name);
    await cp(model, dir, { recursive: true });
    await change(dir);
    return dir;
  };
  const cases: Array<{ name: string; model: () => Promise<string>; out?: () => Promise<string>; code: number; message: RegExp }> = [
    { name: 'missing folder', model: async () => './no/such/folder', code: ExitCode.usage, message: /--model "\.\/no\/such\/folder": no such folder/ },
    { name: 'unknown alias', model: async () => 'gpt2-xxl', code: ExitCode.usage, message: /unknown model "gpt2-xxl"; did you mean gpt2-xl/ },
    {
      name: 'missing tensor',
      model: async () => {
        const tiny = await writeTinyGpt2(join(root, 'short'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 16 });
        await writeFile(join(tiny.dir, 'config.json'), JSON.stringify({ ...tiny.config, n_layer: 3 }));
        return tiny.dir;
      },
      code: ExitCode.badModel,
      message: /missing tensor "transformer\.h\.2\.ln_1\.weight"/,
    },
    {
      name: 'corrupt safetensors',
      model: () => badModel('corrupt', (dir) => writeFile(join(dir, 'model.safetensors'), Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, 123, 120, 121, 125]))),
      code: ExitCode.badModel,
      message: /corrupt safetensors file .*header is not valid JSON/,
    },
    {
      name: 'weights that overflowed F16',
      model: async () => (await writeTinyGpt2(join(root, 'overflow'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 16, dtype: 'F16', scale: 1e6 })).dir,
      code: ExitCode.numerical,
      message: /tensor "transformer\.h\.0\.attn\.c_attn\.weight" .* weights must be finite/,
    },
    {
      name: 'unwritable output',
      model: async () => model,
      out: async () => {
        await writeFile(join(root, 'a-file'), 'x');
        return join(root, 'a-file', 'w.json');
      },
      code: ExitCode.usage,
      message: /cannot write ".*a-file\/w\.json": a file is in the way; choose another output path/,
    },
  ];
  for (const testCase of cases) {
    it(`refuses ${testCase.name} in one line`, async () => {
      const outDir = join(root, `out-${testCase.name.replace(/\W+/g, '-')}`);
      const out = testCase.out ? await testCase.out() : join(outDir, 'w.json');
      const result = await runCli(['weights', '--model', await testCase.model(), '--out', out]);
      assert.equal(result.code, testCase.code, result.stderr);
      assert.match(result.stderr, testCase.message);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line expected:\n${result.stderr}`);
      assert.match(result.stderr, /^resid-norms: /);
      assert.equal(result.stdout, '');
      assert.deepEqual(await readdir(outDir).catch(() => []), [], 'no output file is left behind');
    });
  }
});
