/**
 * Issue 16's bad-input battery, round 2 (classes 3, 4, 5, 8, 9): each case feeds the exact bad
 * input named in the issue and asserts the exit code, one line naming the problem, no stack
 * trace, an answer within a bounded time (a FIFO must not hang), and that nothing in the test
 * folder changed (inputs, model files, no output, no checkpoint, no temp file).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { editConfig } from '../support/tiny-model.js';
import { FakeHub } from '../support/fake-hub.js';
import { runCli } from '../support/run-cli.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';

interface Case {
  name: string;
  /** Paths relative to the test folder (the working folder); measure gets --prompts and --out unless given. */
  args: string[];
  code: number;
  message: RegExp;
  /** Check that no request reached the fake Hub. */
  noRequests?: boolean;
}

const mkfifo = (path: string) => {
  const result = spawnSync('mkfifo', [path]);
  if (result.status !== 0) throw new Error(`mkfifo ${path}: ${result.stderr}`);
};

describe('hostile inputs are refused in one line, quickly, changing nothing', () => {
  let root: string;
  let hub: FakeHub;
  const at = (...parts: string[]) => join(root, ...parts);
  /** A copy of the tiny model with one change. */
  const variant = async (name: string, change: (dir: string) => Promise<void> | void) => {
    await cp(at('model'), at(name), { recursive: true });
    await change(at(name));
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-hostile-'));
    await writeTinyGpt2(at('model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    await writeFile(at('prompts.txt'), 'Hello there\nSecond prompt\n');
    hub = new FakeHub();
    await hub.start();
    // Class 3: FIFOs where files are read.
    mkfifo(at('fifo.txt'));
    mkfifo(at('fifo.json'));
    await variant('fifo-config', (dir) => rm(join(dir, 'config.json')).then(() => mkfifo(join(dir, 'config.json'))));
    await variant('fifo-tokenizer', (dir) => rm(join(dir, 'tokenizer.json')).then(() => mkfifo(join(dir, 'tokenizer.json'))));
    await variant('fifo-tokenizer-config', (dir) => rm(join(dir, 'tokenizer_config.json')).then(() => mkfifo(join(dir, 'tokenizer_config.json'))));
    // Class 4: token ids the graph would trip over.
    await variant('bos-5000', (dir) => editConfig(dir, { bos_token_id: 5000 }));
    await variant('bos-negative', (dir) => editConfig(dir, { bos_token_id: -7 }));
    await variant('bos-negative-list', (dir) => editConfig(dir, { bos_token_id: [-7, 1] }));
    await variant('bos-fraction', (dir) => editConfig(dir, { bos_token_id: 1.5 }));
    await variant('bos-list-out-of-range', (dir) => editConfig(dir, { bos_token_id: [300] }));
    await variant('big-tokenizer-id', async (dir) => {
      const path = join(dir, 'tokenizer.json');
      const json = JSON.parse(await readFile(path, 'utf8')) as { added_tokens: object[] };
      json.added_tokens.push({ id: 5000, content: '<|big|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
      await writeFile(path, JSON.stringify(json));
    });
    await writeFile(at('big-token.txt'), 'hello <|big|> there\n');
    // Class 5: sizes that would allocate without bound.
    await variant('huge-layers', (dir) => editConfig(dir, { n_layer: 16_777_216 }));
    await variant('huge-vocab', (dir) => editConfig(dir, { vocab_size: 10_000_000 }));
    // Class 8: folders and JSON of the wrong kind where files are read.
    await variant('weights-folder', async (dir) => {
      await rm(join(dir, 'model.safetensors'));
      await mkdir(join(dir, 'model.safetensors'));
    });
    await variant('index-folder', (dir) => mkdir(join(dir, 'model.safetensors.index.json')));
    await variant('tokenizer-folder', async (dir) => {
      await rm(join(dir, 'tokenizer.json'));
      await mkdir(join(dir, 'tokenizer.json'));
    });
    await variant('tokenizer-config-string', (dir) => writeFile(join(dir, 'tokenizer_config.json'), '"just a string"'));
    await variant('tokenizer-null', (dir) => writeFile(join(dir, 'tokenizer.json'), 'null'));
    // Class 9: prompt files that are not clean UTF-8.
    await writeFile(at('bad-utf8.txt'), Buffer.concat([Buffer.from('fine\nalso fine\nbroken '), Buffer.from([0xc3, 0x28]), Buffer.from(' here\n')]));
    await writeFile(at('bad-utf8.jsonl'), Buffer.concat([Buffer.from('{"text": "ok"}\n{"text": "'), Buffer.from([0xff]), Buffer.from('"}\n')]));
    await mkdir(at('a-folder'));
    await writeFile(at('results.json'), JSON.stringify(syntheticMeasurement({ nLayers: 4, sequences: 3, tokensPerSequence: 5 })));
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  const measure = (model: string, ...rest: string[]) => ['measure', '--model', model, ...rest];
  const cases: Case[] = [
    // Class 3: reads that never end.
    {
      name: 'a FIFO as --prompts',
      args: measure('model', '--prompts', 'fifo.txt'),
      code: ExitCode.badInput,
      message: /cannot read prompt file "fifo\.txt" \(it is a FIFO \(named pipe\), not a regular file\)/,
    },
    {
      name: 'a device (/dev/zero) as --prompts',
      args: measure('model', '--prompts', '/dev/zero'),
      code: ExitCode.badInput,
      message: /cannot read prompt file "\/dev\/zero" \(it is a device, not a regular file\)/,
    },
    {
      name: 'a device (/dev/zero) as a results file of fit',
      args: ['fit', '/dev/zero'],
      code: ExitCode.badInput,
      message: /cannot read the input file "\/dev\/zero": it is a device, not a regular file/,
    },
    {
      name: 'a FIFO as --out of measure (it would be replaced, not written into)',
      args: measure('model', '--out', 'fifo.txt'),
      code: ExitCode.usage,
      message: /cannot write "fifo\.txt": it is a FIFO \(named pipe\), and outputs replace their target file/,
    },
    {
      name: 'a FIFO as --out of fit',
      args: ['fit', 'results.json', '--out', 'fifo.json'],
      code: ExitCode.usage,
      message: /cannot write "fifo\.json": it is a FIFO/,
    },
    {
      name: 'a FIFO as config.json',
      args: measure('fifo-config'),
      code: ExitCode.badModel,
      message: /cannot read ".*fifo-config\/config\.json": it is a FIFO \(named pipe\), not a regular file/,
    },
    {
      name: 'a FIFO as tokenizer.json',
      args: measure('fifo-tokenizer'),
      code: ExitCode.badModel,
      message: /cannot read ".*fifo-tokenizer\/tokenizer\.json": it is a FIFO/,
    },
    {
      name: 'a FIFO as tokenizer_config.json',
      args: measure('fifo-tokenizer-config'),
      code: ExitCode.badModel,
      message: /cannot read ".*tokenizer_config\.json": it is a FIFO/,
    },
    {
      name: 'a FIFO as a results file of fit',
      args: ['fit', 'fifo.json'],
      code: ExitCode.badInput,
      message: /cannot read the input file "fifo\.json": it is a FIFO \(named pipe\), not a regular file/,
    },
    {
      name: 'a FIFO as a shard of merge',
      args: ['merge', 'results.json', 'fifo.json', '-o', 'out/m.json'],
      code: ExitCode.badInput,
      message: /cannot read the shard file "fifo\.json": it is a FIFO/,
    },
    {
      name: 'a FIFO as a results file of plot',
      args: ['plot', 'fifo.json', '--out', 'out/plots'],
      code: ExitCode.badInput,
      message: /cannot read the input file "fifo\.json": it is a FIFO/,
    },
    {
      name: 'a FIFO as the fit file of report',
      args: ['report', 'results.json', '--fit', 'fifo.json', '--out', 'out/report'],
      code: ExitCode.badInput,
      message: /cannot read the fit file "fifo\.json": it is a FIFO/,
    },
    // Class 4: token ids checked against the vocabulary before the graph sees them.
    {
      name: 'bos_token_id 5000 with a vocabulary of 257',
      args: measure('bos-5000'),
      code: ExitCode.badModel,
      message: /BOS token .*config\.json bos_token_id.* is token id 5000, outside the model's vocabulary \(config\.json vocab_size 257: valid ids 0…256\)/,
    },
    { name: 'bos_token_id -7', args: measure('bos-negative'), code: ExitCode.badModel, message: /bos_token_id is -7; expected a token id \(an integer ≥ 0\)/ },
    { name: 'bos_token_id [-7, 1]', args: measure('bos-negative-list'), code: ExitCode.badModel, message: /bos_token_id is \[-7,1\]; expected a token id/ },
    { name: 'bos_token_id 1.5', args: measure('bos-fraction'), code: ExitCode.badModel, message: /bos_token_id is 1\.5; expected a token id/ },
    {
      name: 'bos_token_id [300] with a vocabulary of 257',
      args: measure('bos-list-out-of-range'),
      code: ExitCode.badModel,
      message: /bos_token_id.* is token id 300, outside/,
    },
    {
      name: 'a tokenizer id at or above vocab_size for a text prompt',
      args: measure('big-tokenizer-id', '--prompts', 'big-token.txt'),
      code: ExitCode.badModel,
      message: /tokenizer\.json's encoding of prompt 1 \(line 1\) is token id 5000, outside the model's vocabulary \(config\.json vocab_size 257/,
    },
    // Class 5: sizes and flags bounded before anything is allocated or started.
    { name: 'n_layer 16777216', args: measure('huge-layers'), code: ExitCode.badModel, message: /n_layer is 16777216; expected a positive integer up to 1024/ },
    {
      name: 'vocab_size 10000000',
      args: measure('huge-vocab'),
      code: ExitCode.badModel,
      message: /vocab_size is 10000000; expected a positive integer up to 4194304/,
    },
    {
      name: '--threads 100000',
      args: measure('model', '--threads', '100000'),
      code: ExitCode.usage,
      message: /option '--threads <n>' argument '100000' is invalid\. expected a whole number from 1 to \d+/,
    },
    { name: '--threads 0', args: measure('model', '--threads', '0'), code: ExitCode.usage, message: /expected a whole number from 1 to \d+, got "0"/ },
    { name: '--batch-size 1e9', args: measure('model', '--batch-size', '1000000000'), code: ExitCode.usage, message: /expected a whole number from 1 to 4096/ },
    {
      name: '--max-tokens 2^53',
      args: measure('model', '--max-tokens', '9007199254740993'),
      code: ExitCode.usage,
      message: /expected a whole number from 1 to 16777216/,
    },
    { name: '--shard 1/1000000000', args: measure('model', '--shard', '1/1000000000'), code: ExitCode.usage, message: /1 ≤ i ≤ n ≤ 10000/ },
    {
      name: 'fit --bootstrap 1e12',
      args: ['fit', 'results.json', '--bootstrap', '1000000000000'],
      code: ExitCode.usage,
      message: /--bootstrap <n>' argument '1000000000000' is invalid\. expected a whole number from 0 to 100000/,
    },
    {
      name: 'fit --seed 2^32',
      args: ['fit', 'results.json', '--seed', '4294967296'],
      code: ExitCode.usage,
      message: /expected a whole number from 0 to 4294967295/,
    },
    {
      name: 'fit --max-segments 1000',
      args: ['fit', 'results.json', '--max-segments', '1000'],
      code: ExitCode.usage,
      message: /expected a whole number from 1 to 64/,
    },
    {
      name: 'fit --min-segment 5000',
      args: ['fit', 'results.json', '--min-segment', '5000'],
      code: ExitCode.usage,
      message: /expected a whole number from 3 to 1024/,
    },
    // Class 8: error paths that used to say "unexpected error".
    {
      name: 'model.safetensors that is a folder',
      args: measure('weights-folder'),
      code: ExitCode.badModel,
      message: /safetensors file ".*weights-folder\/model\.safetensors" is a folder; it must be a file/,
    },
    {
      name: 'model.safetensors.index.json that is a folder',
      args: measure('index-folder'),
      code: ExitCode.badModel,
      message: /cannot read ".*model\.safetensors\.index\.json": it is a folder; the weights index must be a JSON file/,
    },
    {
      name: 'tokenizer.json that is a folder',
      args: measure('tokenizer-folder'),
      code: ExitCode.badModel,
      message: /cannot read ".*tokenizer-folder\/tokenizer\.json": it is a folder; tokenizer files must be regular files/,
    },
    {
      name: 'tokenizer_config.json that is a JSON string',
      args: measure('tokenizer-config-string'),
      code: ExitCode.badModel,
      message: /tokenizer_config\.json" is "just a string", not a JSON object/,
    },
    { name: 'tokenizer.json that is null', args: measure('tokenizer-null'), code: ExitCode.badModel, message: /tokenizer\.json" is null, not a JSON object/ },
    {
      name: 'weights: model.safetensors that is a folder',
      args: ['weights', '--model', 'weights-folder', '--out', 'out/w.json'],
      code: ExitCode.badModel,
      message: /is a folder; it must be a file/,
    },
    // Class 9: input hygiene.
    {
      name: 'invalid UTF-8 on line 3 of a text prompt file',
      args: measure('model', '--prompts', 'bad-utf8.txt'),
      code: ExitCode.badInput,
      message: /prompt file "bad-utf8\.txt" is not valid UTF-8 at line 3; save it as UTF-8/,
    },
    {
      name: 'invalid UTF-8 on line 2 of a JSONL prompt file',
      args: measure('model', '--prompts', 'bad-utf8.jsonl'),
      code: ExitCode.badInput,
      message: /"bad-utf8\.jsonl" is not valid UTF-8 at line 2/,
    },
    {
      name: '--out that is a folder, before any download',
      args: measure('someone/model', '--out', 'a-folder'),
      code: ExitCode.usage,
      message: /cannot write "a-folder": it is a folder; choose another output path/,
      noRequests: true,
    },
    {
      name: '--out under a file, before any download',
      args: measure('someone/model', '--out', 'prompts.txt/r.json'),
      code: ExitCode.usage,
      message: /cannot write "prompts\.txt\/r\.json": a file is in the way/,
      noRequests: true,
    },
    {
      name: '--out that ends with a slash, before any download',
      args: measure('someone/model', '--out', 'new-folder/'),
      code: ExitCode.usage,
      message: /cannot write "new-folder\/": it ends with a slash, so it names a folder; give a file path/,
      noRequests: true,
    },
    {
      name: '--out in a folder nothing can be created in',
      args: measure('someone/model', '--out', '/sys/resid-norms-test/r.json'),
      code: ExitCode.usage,
      message: /cannot write "\/sys\/resid-norms-test\/r\.json": "\/sys" is not writable \(permission denied\)/,
      noRequests: true,
    },
    {
      name: 'weights --out that is a folder, before any download',
      args: ['weights', '--model', 'someone/model', '--out', 'a-folder'],
      code: ExitCode.usage,
      message: /cannot write "a-folder": it is a folder/,
      noRequests: true,
    },
    {
      name: '--model naming a file of a model folder',
      args: measure('model/config.json'),
      code: ExitCode.usage,
      message: /--model "model\/config\.json" is a file, not a model folder; give the folder that holds config\.json.*\(e\.g\. "model"\)/,
      noRequests: true,
    },
  ];

  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const isMeasure = testCase.args[0] === 'measure';
      const args = [...testCase.args];
      if (isMeasure && !args.includes('--prompts')) args.push('--prompts', 'prompts.txt');
      if (isMeasure && !args.includes('--out')) args.push('--out', 'out/r.json');
      const before = await snapshotTree(root);
      hub.log.length = 0;
      const started = Date.now();
      const result = await runCli(args, { cwd: root, env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: at('cache') }, timeoutMs: 60_000 });
      assert.equal(result.code, testCase.code, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
      assert.match(lines[0]!, /^resid-norms: /);
      assert.match(lines[0]!, testCase.message);
      assert.doesNotMatch(lines[0]!, /unexpected error/);
      assert.equal(result.stdout, '');
      assert.ok(Date.now() - started < 30_000, `answered in ${Date.now() - started} ms`);
      if (testCase.noRequests) assert.deepEqual(hub.log, [], 'refused before any request to the Hub');
      assert.deepEqual(diffTrees(before, await snapshotTree(root)), [], 'nothing in the test folder changed');
    });
  }
});
