/**
 * Every way a PyTorch checkpoint is refused, each in one line naming what was wrong: hostile
 * pickles (genuine ones from Python, and hand-made), pickle bombs, bad or compressed zip
 * records, truncated files, storages that claim more than they hold, copies past the bound.
 * (test/cli/pytorch-refusals-cli.test.ts runs the hostile ones through the CLI: exit code,
 * nothing run, nothing written.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import { ExitCode, ModelError } from '../../src/errors.js';
import { PICKLE_LIMITS } from '../../src/models/torch/restricted-unpickler.js';
import { MAX_COPIED_BYTES } from '../../src/models/torch/tensor-placement.js';
import { readTorchCheckpoint } from '../../src/models/torch/torch-checkpoint.js';
import { orderedDict, pickle, pyTuple, sharedGlobal, type PyValue } from '../support/python-pickler.js';
import { encodeTorchCheckpoint, encodeTorchZipRecords, torchZipLayout, type TorchTensor } from '../support/torch-checkpoint-writer.js';
import { FIXTURES } from './torch-fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'torch-refusals-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function written(bytes: Uint8Array): Promise<string> {
  const path = join(dir, `case-${(counter += 1)}.bin`);
  await writeFile(path, bytes);
  return path;
}

/** The refusal of reading `path`: a ModelError (exit 4) of one line matching `pattern`. */
async function assertRefused(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(readTorchCheckpoint(path), (error: unknown) => {
    assert.ok(error instanceof ModelError, `a ModelError, not ${String(error)}`);
    assert.equal(error.exitCode, ExitCode.badModel);
    assert.doesNotMatch(error.message, /\n/, 'one line');
    assert.match(error.message, /^refused PyTorch checkpoint "/);
    assert.match(error.message, pattern);
    return true;
  });
}

/** A zip whose data.pkl is `body` (raw opcodes after PROTO 2) and whose storages are `records`. */
function zipOf(body: number[] | Uint8Array, records: Array<[string, Uint8Array]> = []): Buffer {
  const pickled = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(body), Buffer.from([0x2e])]);
  return encodeTorchZipRecords([
    ['archive/data.pkl', pickled],
    ...records.map(([name, data]): [string, Uint8Array] => [`archive/${name}`, data]),
    ['archive/version', Buffer.from('3\n')],
  ]);
}

const ascii = (text: string) => [...Buffer.from(text, 'latin1')];
const global = (module: string, name: string) => [0x63, ...ascii(`${module}\n${name}\n`)];
const string = (text: string) => [0x58, text.length, 0, 0, 0, ...ascii(text)];

/** A state dict of one F32 tensor `w` whose persistent id claims `numel` elements and whose record holds `stored` floats. */
function claimingZip(numel: number, stored: number, tensor: { offset?: number; shape?: number[] } = {}): Buffer {
  const pid = pyTuple('storage', sharedGlobal('torch', 'FloatStorage'), '0', 'cpu', numel);
  const shape = tensor.shape ?? [numel];
  const rebuilt: PyValue = {
    py: 'reduce',
    callable: sharedGlobal('torch._utils', '_rebuild_tensor_v2'),
    args: pyTuple(
      { py: 'persistent', id: pid },
      tensor.offset ?? 0,
      pyTuple(...shape),
      pyTuple(...shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))),
      false,
      orderedDict([]),
    ),
  };
  const pickled = pickle(orderedDict([['w', rebuilt]]));
  return encodeTorchZipRecords([
    ['archive/data.pkl', pickled],
    ['archive/data/0', new Uint8Array(stored * 4)],
    ['archive/version', Buffer.from('3\n')],
  ]);
}

describe('refusing hostile pickles', () => {
  const genuine: Array<[string, RegExp]> = [
    [
      'hostile-os-system.bin',
      /the global posix\.system is never allowed \(module posix is blocked, as in torch\) \(byte 2 of its pickle\); nothing in it was run$/,
    ],
    ['hostile-builtins-exec.bin', /the global builtins\.exec is not on the allow-list of torch\.load\(weights_only=True\)/],
    ['hostile-nested-eval.bin', /the global builtins\.eval is not on the allow-list/],
    ['hostile-legacy-os-system.bin', /the global posix\.system is never allowed/],
    ['hostile-unknown-opcode.bin', /unknown opcode 0xff is not allowed \(torch\.load\(weights_only=True\) refuses it too\) \(byte 5 of its pickle\)/],
    ['protocol-4.bin', /opcode FRAME \(0x95\) is not allowed/],
  ];
  for (const [file, pattern] of genuine) it(`${file} (made by Python)`, () => assertRefused(`${FIXTURES}/${file}`, pattern));

  const handMade: Array<[string, number[], RegExp]> = [
    [
      'a global of the model code',
      [...global('transformers.models.gpt2', 'GPT2Config'), 0x29, 0x52],
      /the global transformers\.models\.gpt2\.GPT2Config is not on the allow-list/,
    ],
    ['a Python 2 builtin', [...global('__builtin__', 'eval'), ...string('1'), 0x85, 0x52], /the global builtins\.eval is not on the allow-list/],
    ['REDUCE of something that is not a global', [...string('os.system'), 0x29, 0x52], /REDUCE calls a string, which is not an allowed global/],
    [
      'an allowed global that is not a weight',
      [...global('torch._utils', '_rebuild_qtensor'), 0x29, 0x52],
      /torch\._utils\._rebuild_qtensor \(quantized tensors\) is allowed by torch but holds no weights/,
    ],
    ['BUILD of a list', [0x5d, 0x7d, 0x62], /BUILD of a list \(a dict\); only a state dict's attributes are set by BUILD/],
    [
      'a persistent id that is not a storage',
      [...string('module'), 0x85, 0x51],
      /a persistent id of type a string; only storages are loaded|a persistent id of type/,
    ],
    ['STACK_GLOBAL (protocol 4)', [...string('os'), ...string('system'), 0x93], /opcode STACK_GLOBAL \(0x93\) is not allowed/],
    ['INST', [0x28, 0x69, ...ascii('os\nsystem\n')], /opcode INST \(0x69\) is not allowed/],
    ['a dict key that is a list', [0x7d, 0x5d, 0x4e, 0x73], /a dict key is a list/],
    ['a pickle that pops an empty stack', [0x61], /pops from an empty stack \(corrupt\)/],
    ['a memo entry never stored', [0x68, 7], /reads memo entry 7, which it never stored/],
    ['a pickle cut short', [0x58, 0xff, 0, 0, 0, 0x41], /the pickle ends early/],
    ['not a state dict', [0x5d], /the checkpoint holds a list, not a state dict/],
    ['a training checkpoint (a dict of dicts)', [0x7d, ...string('model'), 0x7d, 0x73], /the entry "model" holds a dict, not a tensor/],
  ];
  for (const [name, body, pattern] of handMade) it(name, async () => assertRefused(await written(zipOf(body)), pattern));

  it('a memo bomb', async () => {
    const body = Buffer.alloc(1 + 5 * (PICKLE_LIMITS.memo + 1));
    body[0] = 0x4e;
    for (let i = 0; i <= PICKLE_LIMITS.memo; i += 1) {
      body[1 + 5 * i] = 0x72; // LONG_BINPUT i
      body.writeUInt32LE(i, 2 + 5 * i);
    }
    await assertRefused(await written(zipOf(body)), /memoizes more than 1000000 values \(a pickle bomb\?\)/);
  });

  it('a stack bomb', async () => {
    await assertRefused(await written(zipOf(Buffer.alloc(PICKLE_LIMITS.stack + 1, 0x4e))), /holds more than 1000000 values on its stack/);
  });

  it('a values bomb (a list that grows without end)', async () => {
    const body = new Uint8Array(1 + 2 * (PICKLE_LIMITS.values + 1)).fill(0x4e);
    body[0] = 0x5d;
    for (let i = 2; i < body.length; i += 2) body[i] = 0x61; // NONE APPEND, again and again
    await assertRefused(await written(zipOf(body)), /builds more than 8000000 values/);
  });

  it('a nesting bomb', async () => {
    await assertRefused(await written(zipOf(Buffer.alloc(PICKLE_LIMITS.nesting + 1, 0x28))), /nests more than 1000 MARKs/);
  });
});

describe('refusing bad files and records', () => {
  it('a compressed record (made by Python zipfile): never inflated', () =>
    assertRefused(
      `${FIXTURES}/compressed.bin`,
      /record "zip-f32\/data\.pkl" is compressed \(method 8, 466 bytes said to inflate to 750\); torch\.save stores records uncompressed/,
    ));

  it('a zip bomb: a record of 16 MB of zeros deflated to kilobytes', async () => {
    const zeros = Buffer.alloc(16 * 1024 * 1024);
    const deflated = deflateRawSync(zeros, { level: 9 });
    const zip = Buffer.from(encodeTorchZipRecords([['archive/data.pkl', deflated]]));
    // Turn the stored record into a deflated one claiming 50 MB: method 8 and the uncompressed size in the central directory.
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt16LE(8, central + 10);
    zip.writeUInt32LE(zeros.length, central + 24);
    assert.ok(zip.length < 100_000);
    await assertRefused(await written(zip), /record "archive\/data\.pkl" is compressed \(method 8, \d+ bytes said to inflate to 16777216\)/);
  });

  it('a storage that claims more bytes than its record', async () => {
    await assertRefused(await written(claimingZip(1000, 3)), /storage "0" claims 4000 bytes \(1000 × 4\) but its record holds 12/);
  });

  it('a tensor that reaches past its storage', async () => {
    await assertRefused(
      await written(claimingZip(4, 4, { offset: 2, shape: [4] })),
      /tensor "w" \(F32 \[4\], offset 2, stride \[1\]\) reaches byte 24 of storage "0", which holds 16/,
    );
  });

  it('a storage without a record', async () => {
    const zip = claimingZip(4, 4);
    const renamed = Buffer.from(zip.toString('latin1').replaceAll('archive/data/0', 'archive/data/9'), 'latin1');
    await assertRefused(await written(renamed), /it has no record "archive\/data\/0" for storage "0"/);
  });

  it('records that overlap (a crafted zip)', async () => {
    const tensors: TorchTensor[] = [
      { name: 'a', shape: [4], storage: { dtype: 'F32', values: [1, 2, 3, 4] } },
      { name: 'b', shape: [4], storage: { dtype: 'F32', values: [5, 6, 7, 8] } },
    ];
    const zip = encodeTorchCheckpoint(tensors);
    // Stretch record data/0 over the local header of data/1 (central directory sizes only).
    const name = Buffer.from('archive/data/0');
    const entry = zip.lastIndexOf(name) - 46;
    assert.equal(zip.readUInt32LE(entry), 0x02014b50);
    zip.writeUInt32LE(200, entry + 20);
    zip.writeUInt32LE(200, entry + 24);
    await assertRefused(await written(zip), /records "archive\/data\/0" and "archive\/data\/1" overlap \(a crafted zip\)/);
  });

  it('a big-endian checkpoint (byteorder record)', async () => {
    const zip = zipOf([0x7d]);
    const withOrder = encodeTorchZipRecords([
      ['archive/data.pkl', Uint8Array.from([0x80, 2, 0x7d, 0x2e])],
      ['archive/byteorder', Buffer.from('big')],
    ]);
    assert.ok(zip.length > 0);
    await assertRefused(await written(withOrder), /its byteorder record says "big"; only little-endian checkpoints are read/);
  });

  it('a zip file cut short', async () => {
    const bytes = await readFile(`${FIXTURES}/zip-f32.bin`);
    await assertRefused(await written(bytes.subarray(0, 1200)), /it is not a readable zip \(End of central directory record signature not found/);
  });

  it('a legacy file cut short inside its storage table', async () => {
    const bytes = await readFile(`${FIXTURES}/legacy-f32.bin`);
    await assertRefused(
      await written(bytes.subarray(0, bytes.length - 2)),
      /storage "\d+" claims \d+ bytes at byte \d+, past the end of the 1223-byte file \(truncated\?\)/,
    );
  });

  it('a legacy file cut short inside its pickle', async () => {
    const bytes = await readFile(`${FIXTURES}/legacy-f32.bin`);
    await assertRefused(await written(bytes.subarray(0, 300)), /the pickle ends early/);
  });

  it('a zip that is not a torch checkpoint', async () => {
    await assertRefused(
      await written(encodeTorchZipRecords([['model/weights.npy', new Uint8Array(8)]])),
      /it has no <prefix>\/data\.pkl record: a zip, but not a torch\.save checkpoint/,
    );
  });

  it('an old tar checkpoint and a file of another kind', async () => {
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    await assertRefused(await written(tar), /a tar archive, the format of torch before 0\.4/);
    await assertRefused(
      await written(Buffer.from('{"not": "a checkpoint"}')),
      /neither a torch\.save zip nor a legacy torch\.save file \(it starts with bytes "7b226e6f74223a20"\)/,
    );
  });

  it('non-contiguous tensors whose copy would pass the bound, refused before anything is read', async () => {
    // A record of MAX_COPIED_BYTES + 8 bytes as a sparse file (no disk used), viewed transposed.
    const numel = MAX_COPIED_BYTES / 4 + 2;
    const pid = pyTuple('storage', sharedGlobal('torch', 'FloatStorage'), '0', 'cpu', numel);
    const rebuilt: PyValue = {
      py: 'reduce',
      callable: sharedGlobal('torch._utils', '_rebuild_tensor_v2'),
      args: pyTuple({ py: 'persistent', id: pid }, 0, pyTuple(2, numel / 2), pyTuple(1, 2), false, orderedDict([])),
    };
    const pickled = pickle(orderedDict([['w', rebuilt]]));
    const layout = torchZipLayout([
      { name: 'archive/data.pkl', size: pickled.length, crc: crc32(pickled) },
      { name: 'archive/data/0', size: numel * 4, crc: 0 },
    ]);
    const path = join(dir, 'sparse.bin');
    const handle = await open(path, 'w');
    try {
      for (const piece of [...layout.pieces, { offset: layout.dataOffsets[0]!, bytes: Buffer.from(pickled) }])
        await handle.write(piece.bytes, 0, piece.bytes.length, piece.offset);
    } finally {
      await handle.close();
    }
    const bytes = numel * 4;
    await assertRefused(
      path,
      new RegExp(
        `non-contiguous tensor "w" would need ${bytes} bytes copied into memory \\(limit ${MAX_COPIED_BYTES}\\); re-save the checkpoint with contiguous tensors, or convert it to safetensors`,
      ),
    );
  });
});
