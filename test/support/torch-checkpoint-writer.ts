/**
 * Writes PyTorch checkpoints as torch 1.13's torch.save does, for generated test models: the
 * zip format (records `<prefix>/data.pkl`, `<prefix>/data/<key>` in sorted key order,
 * `<prefix>/version`; each record stored, its data 64-byte aligned by an "FB" extra field, a
 * data descriptor after it, zip64 end records) and the legacy sequential format. Byte for byte
 * what torch writes for the same state dict (test/models/torch-checkpoint-writer.test.ts
 * compares with genuine files from scripts/make-torch-fixtures.py). Storages may be shared
 * (tied tensors) and tensors may be views (offset, strides).
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { orderedDict, pickle, pyTuple, sharedGlobal, type PyDict, type PyReduce, type PyValue } from './python-pickler.js';
import { floatToBfloat16Bits, floatToHalfBits, type TensorToWrite } from './safetensors-writer.js';

export type StorageDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'U8' | 'BOOL';

export interface TorchStorage {
  dtype: StorageDtype;
  /** The elements as numbers, or `raw`: their bytes as stored (e.g. copied from a safetensors file). */
  values?: ArrayLike<number>;
  raw?: Uint8Array;
  /** Neither values nor raw: this many elements left a hole of a sparse file (writeSparseTorchZip). */
  numel?: number;
}

export interface TorchTensor {
  name: string;
  storage: TorchStorage;
  /** In elements; default 0. */
  offset?: number;
  shape: number[];
  /** In elements; default row-major. */
  strides?: number[];
}

export interface CheckpointOptions {
  format?: 'zip' | 'legacy';
  /** zip: the folder of the records (torch names it after the file's stem; `archive` when saving to a buffer). */
  prefix?: string;
  /** Module.state_dict()'s `_metadata` (module name → version); absent: a plain OrderedDict. */
  moduleVersions?: Array<[string, number]>;
  /** legacy: the key of each storage (torch uses pointer values); default: 1000 + index. */
  legacyKeys?: Map<TorchStorage, string>;
}

const STORAGE_CLASS: Record<StorageDtype, { name: string; bytes: number }> = {
  F64: { name: 'DoubleStorage', bytes: 8 },
  F32: { name: 'FloatStorage', bytes: 4 },
  F16: { name: 'HalfStorage', bytes: 2 },
  BF16: { name: 'BFloat16Storage', bytes: 2 },
  I64: { name: 'LongStorage', bytes: 8 },
  U8: { name: 'ByteStorage', bytes: 1 },
  BOOL: { name: 'BoolStorage', bytes: 1 },
};

export function storageNumel(storage: TorchStorage): number {
  if (storage.raw !== undefined) return storage.raw.length / STORAGE_CLASS[storage.dtype].bytes;
  return storage.values?.length ?? storage.numel!;
}

export function encodeStorage(storage: TorchStorage): Buffer {
  if (storage.raw !== undefined) return Buffer.from(storage.raw.buffer, storage.raw.byteOffset, storage.raw.byteLength);
  const { dtype } = storage;
  const values = storage.values!;
  const out = Buffer.alloc(values.length * STORAGE_CLASS[dtype].bytes);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i]!;
    if (dtype === 'F32') out.writeFloatLE(value, 4 * i);
    else if (dtype === 'F64') out.writeDoubleLE(value, 8 * i);
    else if (dtype === 'F16') out.writeUInt16LE(floatToHalfBits(value), 2 * i);
    else if (dtype === 'BF16') out.writeUInt16LE(floatToBfloat16Bits(value), 2 * i);
    else if (dtype === 'I64') out.writeBigInt64LE(BigInt(value), 8 * i);
    else out.writeUInt8(value ? (dtype === 'BOOL' ? 1 : value) : 0, i);
  }
  return out;
}

function rowMajor(shape: readonly number[]): number[] {
  const strides = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i -= 1) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}

/** One storage per tensor, contiguous: how a state dict of separate parameters is saved. */
export function separateTensors(tensors: readonly TensorToWrite[]): TorchTensor[] {
  return tensors.map((t) => ({ name: t.name, shape: t.shape, storage: { dtype: (t.dtype ?? 'F32') as StorageDtype, values: t.data } }));
}

/** The pickled state dict, and the storages in the order torch numbers them (first use). */
function stateDictPickle(tensors: readonly TorchTensor[], options: CheckpointOptions): { pickled: Uint8Array; keys: Map<TorchStorage, string> } {
  const legacy = options.format === 'legacy';
  const keys = new Map<TorchStorage, string>();
  const keyOf = (storage: TorchStorage) => {
    if (!keys.has(storage)) keys.set(storage, legacy ? (options.legacyKeys?.get(storage) ?? String(1000 + keys.size)) : String(keys.size));
    return keys.get(storage)!;
  };
  const entries: Array<[PyValue, PyValue]> = tensors.map((tensor) => {
    const { storage } = tensor;
    // The zip format's keys are one string object per storage; the legacy format makes a new one each time (str(storage._cdata)).
    const key: PyValue = legacy ? { py: 'str', value: keyOf(storage) } : keyOf(storage);
    const pid = pyTuple('storage', sharedGlobal('torch', STORAGE_CLASS[storage.dtype].name), key, 'cpu', storageNumel(storage), ...(legacy ? [null] : []));
    const rebuilt: PyReduce = {
      py: 'reduce',
      callable: sharedGlobal('torch._utils', '_rebuild_tensor_v2'),
      args: pyTuple(
        { py: 'persistent', id: pid },
        tensor.offset ?? 0,
        pyTuple(...tensor.shape),
        pyTuple(...(tensor.strides ?? rowMajor(tensor.shape))),
        false,
        orderedDict([]),
      ),
    };
    return [tensor.name, rebuilt];
  });
  const metadata: PyDict | undefined = options.moduleVersions && {
    py: 'dict',
    entries: [['_metadata', orderedDict(options.moduleVersions.map(([module, version]) => [module, { py: 'dict', entries: [['version', version]] }]))]],
  };
  return { pickled: pickle(orderedDict(entries, metadata)), keys };
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}
function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}
function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

export interface ZipRecordLayout {
  name: string;
  size: number;
  crc: number;
}

/** A part of a zip file: `bytes` at `offset`. */
export interface ZipPiece {
  offset: number;
  bytes: Buffer;
}

/**
 * The layout of a zip as PyTorch's writer (miniz) makes it, records in order: every header,
 * descriptor and the directory as pieces at their offsets, and where each record's data goes
 * (so a large file can be written piece by piece, its data streamed or left a hole).
 */
export function torchZipLayout(records: readonly ZipRecordLayout[]): { pieces: ZipPiece[]; dataOffsets: number[]; size: number } {
  const pieces: ZipPiece[] = [];
  const dataOffsets: number[] = [];
  const central: Buffer[] = [];
  const MAX = 0xffffffff;
  let cursor = 0;
  for (const { name, size, crc } of records) {
    const nameBytes = Buffer.from(name, 'utf8');
    // Records of 4 GB or more, or starting past 4 GB, carry zip64 fields (sizes, offset), as miniz writes them.
    const bigSize = size >= MAX;
    const bigOffset = cursor >= MAX;
    const localZip64 = bigSize || bigOffset ? Buffer.concat([u16(0x0001), u16(16), u64(size), u64(size)]) : Buffer.alloc(0);
    const start = cursor + 30 + nameBytes.length + localZip64.length + 4;
    const padding = (64 - (start % 64)) % 64;
    const local = Buffer.concat([
      u32(0x04034b50),
      u16(bigSize || bigOffset ? 0x2d : 0),
      u16(0x0808),
      u16(0),
      u16(0),
      u16(0),
      u32(0),
      u32(bigSize ? MAX : 0),
      u32(bigSize ? MAX : 0),
      u16(nameBytes.length),
      u16(localZip64.length + 4 + padding),
      nameBytes,
      localZip64,
      Buffer.from('FB'),
      u16(padding),
      Buffer.alloc(padding, 'Z'),
    ]);
    const centralZip64 =
      bigSize || bigOffset
        ? Buffer.concat([
            u16(0x0001),
            u16((bigSize ? 16 : 0) + (bigOffset ? 8 : 0)),
            ...(bigSize ? [u64(size), u64(size)] : []),
            ...(bigOffset ? [u64(cursor)] : []),
          ])
        : Buffer.alloc(0);
    central.push(
      Buffer.concat([
        u32(0x02014b50),
        u16(0),
        u16(bigSize || bigOffset ? 0x2d : 0),
        u16(0x0808),
        u16(0),
        u16(0),
        u16(0),
        u32(crc),
        u32(bigSize ? MAX : size),
        u32(bigSize ? MAX : size),
        u16(nameBytes.length),
        u16(centralZip64.length),
        u16(0),
        u16(0),
        u16(0),
        u32(0),
        u32(bigOffset ? MAX : cursor),
        nameBytes,
        centralZip64,
      ]),
    );
    pieces.push({ offset: cursor, bytes: local });
    dataOffsets.push(cursor + local.length);
    cursor += local.length + size;
    const descriptor =
      bigSize || bigOffset
        ? Buffer.concat([u32(0x08074b50), u32(crc), u64(size), u64(size)])
        : Buffer.concat([u32(0x08074b50), u32(crc), u32(size), u32(size)]);
    pieces.push({ offset: cursor, bytes: descriptor });
    cursor += descriptor.length;
  }
  const directory = Buffer.concat(central);
  const endOffset = cursor + directory.length;
  const n = records.length;
  const zip64End = Buffer.concat([u32(0x06064b50), u64(44), u16(0x031e), u16(0x2d), u32(0), u32(0), u64(n), u64(n), u64(directory.length), u64(cursor)]);
  const locator = Buffer.concat([u32(0x07064b50), u32(0), u64(endOffset), u32(1)]);
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(n), u16(n), u32(directory.length), u32(Math.min(cursor, MAX)), u16(0)]);
  const tail = Buffer.concat([directory, zip64End, locator, end]);
  pieces.push({ offset: cursor, bytes: tail });
  return { pieces, dataOffsets, size: cursor + tail.length };
}

/** A zip as PyTorch's writer lays it out, in memory. */
export function encodeTorchZipRecords(records: ReadonlyArray<[string, Uint8Array]>): Buffer {
  const layout = torchZipLayout(records.map(([name, data]) => ({ name, size: data.length, crc: crc32(data) })));
  const out = Buffer.alloc(layout.size);
  for (const piece of layout.pieces) piece.bytes.copy(out, piece.offset);
  records.forEach(([, data], i) => out.set(data, layout.dataOffsets[i]));
  return out;
}

const LEGACY_MAGIC = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

export function encodeTorchCheckpoint(tensors: readonly TorchTensor[], options: CheckpointOptions = {}): Buffer {
  const { pickled, keys } = stateDictPickle(tensors, options);
  const sorted = [...keys.entries()].sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (options.format === 'legacy') {
    const sysInfo: PyDict = {
      py: 'dict',
      entries: [
        ['protocol_version', 1001],
        ['little_endian', true],
        [
          'type_sizes',
          {
            py: 'dict',
            entries: [
              ['short', 2],
              ['int', 4],
              ['long', 4],
            ],
          },
        ],
      ],
    };
    const storages = sorted.flatMap(([storage]) => [u64(storageNumel(storage)), encodeStorage(storage)]);
    return Buffer.concat([LEGACY_MAGIC, pickle(1001), pickle(sysInfo), pickled, pickle({ py: 'list', items: sorted.map(([, key]) => key) }), ...storages]);
  }
  const prefix = options.prefix ?? 'archive';
  return encodeTorchZipRecords([
    [`${prefix}/data.pkl`, pickled],
    ...sorted.map(([storage, key]): [string, Uint8Array] => [`${prefix}/data/${key}`, encodeStorage(storage)]),
    [`${prefix}/version`, Buffer.from('3\n')],
  ]);
}

/** Write a checkpoint; a zip's prefix defaults to the file's stem, as torch.save(obj, path) names it. */
export async function writeTorchCheckpoint(path: string, tensors: readonly TorchTensor[], options: CheckpointOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const stem = path
    .split('/')
    .pop()!
    .replace(/\.[^.]*$/, '');
  await writeFile(path, encodeTorchCheckpoint(tensors, { prefix: stem, ...options }));
}

/**
 * A zip checkpoint written piece by piece, storages without values left holes (a sparse file:
 * only headers take disk), for checkpoints of Pythia-12b's size (records past 4 GB, zip64).
 */
export async function writeSparseTorchZip(path: string, tensors: readonly TorchTensor[], options: CheckpointOptions = {}): Promise<void> {
  const { pickled, keys } = stateDictPickle(tensors, options);
  const prefix = options.prefix ?? 'archive';
  const sorted = [...keys.entries()].sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0));
  const records: Array<{ name: string; data?: Uint8Array; size: number }> = [
    { name: `${prefix}/data.pkl`, data: pickled, size: pickled.length },
    ...sorted.map(([storage, key]) => {
      const data = storage.values !== undefined || storage.raw !== undefined ? encodeStorage(storage) : undefined;
      return { name: `${prefix}/data/${key}`, ...(data ? { data } : {}), size: storageNumel(storage) * STORAGE_CLASS[storage.dtype].bytes };
    }),
    { name: `${prefix}/version`, data: Buffer.from('3\n'), size: 2 },
  ];
  const layout = torchZipLayout(records.map(({ name, data, size }) => ({ name, size, crc: data ? crc32(data) : 0 })));
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'w');
  try {
    const writes = [
      ...layout.pieces,
      ...records.flatMap(({ data }, i) =>
        data ? [{ offset: layout.dataOffsets[i]!, bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength) }] : [],
      ),
    ];
    for (const { offset, bytes } of writes) await handle.write(bytes, 0, bytes.length, offset);
    await handle.truncate(layout.size);
  } finally {
    await handle.close();
  }
}
