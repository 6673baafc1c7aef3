/**
 * Bad PyTorch checkpoints through the CLI, from a local folder and from the (fake) Hub: exit
 * code 4, one line naming the problem, nothing executed (the hostile pickles would create
 * `PWNED` in the working folder if run by an unrestricted pickle.load), and nothing written but
 * the Hub cache's files of the download (no output, no checkpoint, no temp file).
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { ExitCode } from '../../src/errors.js';
import { fakeSha, FakeHub, snapshotFromFolder } from '../support/fake-hub.js';
import { orderedDict, pickle, pyTuple, sharedGlobal, type PyValue } from '../support/python-pickler.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { encodeTorchZipRecords } from '../support/torch-checkpoint-writer.js';
import { convertToPytorch } from '../support/torch-model-folder.js';
import { diffTrees, snapshotTree } from '../support/tree-snapshot.js';
import { FIXTURES } from '../models/torch-fixtures.js';

const MARKER = 'PWNED';

/** A zip whose storage claims 1000 floats while its record holds 3. */
function oversizeStorage(): Buffer {
  const pid = pyTuple('storage', sharedGlobal('torch', 'FloatStorage'), '0', 'cpu', 1000);
  const rebuilt: PyValue = {
    py: 'reduce',
    callable: sharedGlobal('torch._utils', '_rebuild_tensor_v2'),
    args: pyTuple({ py: 'persistent', id: pid }, 0, pyTuple(1000), pyTuple(1), false, orderedDict([])),
  };
  return encodeTorchZipRecords([
    ['archive/data.pkl', pickle(orderedDict([['transformer.wte.weight', rebuilt]]))],
    ['archive/data/0', new Uint8Array(12)],
  ]);
}

/** A deflated data.pkl of 16 MB of zeros. */
function zipBomb(): Buffer {
  const zeros = Buffer.alloc(16 * 1024 * 1024);
  const zip = Buffer.from(encodeTorchZipRecords([['archive/data.pkl', deflateRawSync(zeros, { level: 9 })]]));
  const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  zip.writeUInt16LE(8, central + 10);
  zip.writeUInt32LE(zeros.length, central + 24);
  return zip;
}

interface Case {
  name: string;
  checkpoint: () => Promise<Buffer>;
  message: RegExp;
}

const fixture = (file: string) => () => readFile(join(FIXTURES, file));
const CASES: Case[] = [
  {
    name: 'os.system via REDUCE',
    checkpoint: fixture('hostile-os-system.bin'),
    message: /the global posix\.system is never allowed \(module posix is blocked, as in torch\) \(byte 2 of its pickle\); nothing in it was run$/,
  },
  {
    name: 'builtins.exec via REDUCE',
    checkpoint: fixture('hostile-builtins-exec.bin'),
    message: /the global builtins\.exec is not on the allow-list of torch\.load\(weights_only=True\)/,
  },
  { name: 'eval hidden as a state-dict value', checkpoint: fixture('hostile-nested-eval.bin'), message: /the global builtins\.eval is not on the allow-list/ },
  { name: 'os.system in a legacy checkpoint', checkpoint: fixture('hostile-legacy-os-system.bin'), message: /the global posix\.system is never allowed/ },
  { name: 'an unknown opcode', checkpoint: fixture('hostile-unknown-opcode.bin'), message: /unknown opcode 0xff is not allowed/ },
  { name: 'a compressed record', checkpoint: fixture('compressed.bin'), message: /record "zip-f32\/data\.pkl" is compressed \(method 8/ },
  {
    name: 'a zip bomb',
    checkpoint: async () => zipBomb(),
    message: /record "archive\/data\.pkl" is compressed \(method 8, \d+ bytes said to inflate to 16777216\)/,
  },
  { name: 'a truncated zip', checkpoint: async () => (await readFile(join(FIXTURES, 'zip-f32.bin'))).subarray(0, 1200), message: /it is not a readable zip/ },
  {
    name: 'a storage larger than its record',
    checkpoint: async () => oversizeStorage(),
    message: /storage "0" claims 4000 bytes \(1000 × 4\) but its record holds 12/,
  },
];

describe('bad PyTorch checkpoints are refused in one line, without running anything or writing anything', () => {
  let root: string;
  let hub: FakeHub;
  const at = (...parts: string[]) => join(root, ...parts);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-pytorch-refusals-'));
    await writeTinyGpt2(at('model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 });
    await convertToPytorch(at('model'));
    await writeFile(at('prompts.txt'), 'Hello there\n');
    hub = new FakeHub();
    await hub.start();
    for (const [index, testCase] of CASES.entries()) {
      const dir = at(`case-${index}`);
      await cp(at('model'), dir, { recursive: true });
      await writeFile(join(dir, 'pytorch_model.bin'), await testCase.checkpoint());
      hub.repos.set(`hostile/case-${index}`, await snapshotFromFolder(dir, fakeSha(`hostile-${index}`)));
    }
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  const run = (model: string) =>
    runCli(['measure', '--model', model, '--prompts', 'prompts.txt', '--out', 'out/r.json', '--quiet'], {
      cwd: root,
      env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: at('cache') },
      timeoutMs: 60_000,
    });

  const assertRefusal = (result: { code: number; stdout: string; stderr: string }, message: RegExp) => {
    assert.equal(result.code, ExitCode.badModel, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
    assert.match(lines[0]!, /^resid-norms: refused PyTorch checkpoint ".*pytorch_model\.bin": /);
    assert.match(lines[0]!, message);
    assert.equal(result.stdout, '');
    assert.equal(existsSync(at(MARKER)), false, 'the payload did not run');
  };

  it('the tiny model itself measures from its pytorch_model.bin', async () => {
    const result = await runCli(['measure', '--model', at('model'), '--prompts', at('prompts.txt'), '--out', at('good', 'r.json'), '--quiet']);
    assert.equal(result.code, 0, result.stderr);
    await rm(at('good'), { recursive: true });
  });

  CASES.forEach((testCase, index) => {
    it(`${testCase.name}, from a local folder`, async () => {
      const before = await snapshotTree(root);
      assertRefusal(await run(`case-${index}`), testCase.message);
      assert.deepEqual(diffTrees(before, await snapshotTree(root)), [], 'nothing in the test folder changed');
    });

    it(`${testCase.name}, from the Hub`, async () => {
      const before = await snapshotTree(root);
      assertRefusal(await run(`hostile/case-${index}`), testCase.message);
      const changed = diffTrees(before, await snapshotTree(root));
      assert.ok(changed.length > 0, 'the download went into the cache');
      assert.deepEqual(
        changed.filter((line) => !line.startsWith('cache')),
        [],
        'only the cache changed',
      );
      assert.deepEqual(
        changed.filter((line) => line.includes('.incomplete')),
        [],
        'no partial download is left',
      );
    });
  });
});
