/**
 * The sequential format of torch.save before 1.6 (and `_use_new_zipfile_serialization=False`),
 * which e.g. GPT-2's `pytorch_model.bin` of 2019 uses. One file, in order:
 *   pickle(magic 0x1950a86a20f9469cfc6c) · pickle(protocol 1001) · pickle(sys_info dict) ·
 *   the state dict's pickle (persistent ids `("storage", type, root_key, location, numel, view)`) ·
 *   pickle([root keys…]) · per key in that order: int64 LE element count, then its bytes.
 * The storage table is walked by reading the 8-byte counts only; the bytes stay in the file.
 */
import type { FileHandle } from 'node:fs/promises';
import { PickleError, unpickle, type PickleHooks, type PickleValue } from './restricted-unpickler.js';
import { torchPickleHooks, type StoragePid, type StorageValue, stateDictTensors } from './torch-pickle.js';
import type { ParsedCheckpoint, StorageRange } from './tensor-placement.js';

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

/** How a legacy file starts: PROTO 2, LONG1 of 10 bytes (the magic number). */
export const LEGACY_SIGNATURE = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a]);

export class LegacyError extends Error {}

/** The header pickles hold plain data only: any name, call or persistent id in them is refused. */
const DATA_ONLY: PickleHooks = {
  global: (module, name) => {
    throw new PickleError(`the header names the global ${module}.${name}; it holds plain data only`);
  },
  reduce: () => {
    throw new PickleError('the header calls something; it holds plain data only');
  },
  newObject: () => {
    throw new PickleError('the header makes an object; it holds plain data only');
  },
  build: () => {
    throw new PickleError('the header builds an object; it holds plain data only');
  },
  persistentLoad: () => {
    throw new PickleError('the header loads a persistent id; it holds plain data only');
  },
};

interface View {
  root: string;
  offset: number;
  numel: number;
}

function checkHeader(magic: PickleValue, protocol: PickleValue, sysInfo: PickleValue): void {
  if (magic !== MAGIC) throw new LegacyError('its first pickle is not the magic number of a torch.save file');
  if (protocol !== PROTOCOL_VERSION) throw new LegacyError(`it is of serialization protocol ${String(protocol)}; only ${PROTOCOL_VERSION} exists`);
  const littleEndian = typeof sysInfo === 'object' && sysInfo !== null && sysInfo.kind === 'dict' ? sysInfo.entries.get('little_endian') : undefined;
  if (littleEndian === false) throw new LegacyError('it was saved on a big-endian machine; its bytes are not little-endian weights');
}

/**
 * Parse a legacy checkpoint whose first `head.length` bytes are given (all its pickles must lie
 * in them: a PickleError with `truncated` asks for more), then walk its storage table.
 */
export async function parseLegacy(head: Uint8Array, handle: FileHandle, fileSize: number): Promise<ParsedCheckpoint> {
  const magic = unpickle(head, DATA_ONLY);
  const protocol = unpickle(head, DATA_ONLY, magic.end);
  const sysInfo = unpickle(head, DATA_ONLY, protocol.end);
  checkHeader(magic.value, protocol.value, sysInfo.value);

  const roots = new Map<string, StorageValue>();
  const views = new Map<string, View>();
  const loadStorage = (pid: StoragePid): StorageValue => {
    if (pid.rest.length !== 1) throw new PickleError(`a storage id has ${5 + pid.rest.length} fields; the legacy format has 6`);
    const root = roots.get(pid.key) ?? {
      kind: 'object',
      type: 'storage',
      key: pid.key,
      className: pid.className,
      dtype: pid.dtype,
      elementBytes: pid.elementBytes,
      numel: pid.numel,
      location: pid.location,
    };
    if (root.numel !== pid.numel || root.className !== pid.className) throw new PickleError(`storage ${pid.key} is named twice with different types or sizes`);
    roots.set(pid.key, root);
    const view = pid.rest[0]!;
    if (view === null) return root;
    if (typeof view !== 'object' || view.kind !== 'tuple' || view.items.length !== 3) throw new PickleError('a storage view is not (key, offset, size)');
    const [viewKey, offset, size] = view.items;
    if (
      typeof viewKey !== 'string' ||
      typeof offset !== 'number' ||
      typeof size !== 'number' ||
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(size) ||
      offset < 0 ||
      size < 0
    ) {
      throw new PickleError('a storage view is not (key, offset ≥ 0, size ≥ 0)');
    }
    if (offset + size > root.numel)
      throw new PickleError(`storage view ${viewKey} reaches element ${offset + size} of storage ${pid.key}, which holds ${root.numel}`);
    views.set(viewKey, { root: pid.key, offset, numel: size });
    return { ...root, key: viewKey, numel: size };
  };
  const main = unpickle(head, torchPickleHooks(loadStorage), sysInfo.end);
  const keys = unpickle(head, DATA_ONLY, main.end);
  const tensors = stateDictTensors(main.value);
  const order = keys.value;
  if (typeof order !== 'object' || order === null || order.kind !== 'list' || !order.items.every((key) => typeof key === 'string')) {
    throw new LegacyError('its storage key list is not a list of strings');
  }

  const ranges = new Map<string, StorageRange>();
  const count = Buffer.alloc(8);
  let position = keys.end;
  for (const key of order.items as string[]) {
    const root = roots.get(key);
    if (root === undefined) throw new LegacyError(`its storage table lists ${JSON.stringify(key)}, which no tensor uses`);
    if (ranges.has(key)) throw new LegacyError(`its storage table lists ${JSON.stringify(key)} twice`);
    if (position + 8 > fileSize) throw new LegacyError(`it ends inside its storage table (storage ${JSON.stringify(key)}; truncated?)`);
    await handle.read(count, 0, 8, position);
    const numel = count.readBigInt64LE(0);
    if (numel !== BigInt(root.numel))
      throw new LegacyError(`storage ${JSON.stringify(key)} holds ${numel} elements in the table but ${root.numel} in the pickle`);
    const bytes = root.numel * root.elementBytes;
    if (position + 8 + bytes > fileSize)
      throw new LegacyError(
        `storage ${JSON.stringify(key)} claims ${bytes} bytes at byte ${position + 8}, past the end of the ${fileSize}-byte file (truncated?)`,
      );
    ranges.set(key, { start: position + 8, bytes });
    position += 8 + bytes;
  }
  for (const key of roots.keys()) if (!ranges.has(key)) throw new LegacyError(`storage ${JSON.stringify(key)} has no data in the storage table`);
  for (const [key, view] of views) {
    const root = ranges.get(view.root)!;
    const elementBytes = roots.get(view.root)!.elementBytes;
    ranges.set(key, { start: root.start + view.offset * elementBytes, bytes: view.numel * elementBytes });
  }
  return { tensors, ranges };
}
