/**
 * A protocol-2 pickler that emits what Python's `pickle.Pickler(protocol=2)` emits for the
 * values torch.save pickles (strings, ints, floats, tuples, dicts, globals, reduce calls,
 * persistent ids), memo numbering included, so a generated checkpoint is byte for byte what
 * torch writes (test/models/torch-checkpoint-writer.test.ts compares with genuine files).
 * Like Python, objects are memoized by identity; a JS string is memoized by value (one interned
 * object, as torch's "storage", "cpu" and zip keys are), a PyStr by identity (a fresh string
 * object each time, as the legacy format's `str(storage._cdata)` keys are).
 */

export type PyValue = null | boolean | number | string | PyStr | PyFloat | PyTuple | PyList | PyDict | PyGlobal | PyReduce | PyPersistent | PyBytes;
/** A string object of its own (memoized by identity; a JS string stands for one shared, interned object). */
export interface PyStr {
  py: 'str';
  value: string;
}
/** A Python float (a JS number is a Python int). */
export interface PyFloat {
  py: 'float';
  value: number;
}
export interface PyTuple {
  py: 'tuple';
  items: PyValue[];
}
export interface PyList {
  py: 'list';
  items: PyValue[];
}
export interface PyDict {
  py: 'dict';
  entries: Array<[PyValue, PyValue]>;
}
export interface PyGlobal {
  py: 'global';
  module: string;
  name: string;
}
/** `callable(*args)`, then `dictItems` set on the result and `state` BUILT onto it (as __reduce__ describes OrderedDict). */
export interface PyReduce {
  py: 'reduce';
  callable: PyGlobal;
  args: PyTuple;
  dictItems?: Array<[PyValue, PyValue]>;
  state?: PyValue;
}
export interface PyPersistent {
  py: 'persistent';
  id: PyValue;
}
/** Raw opcodes, for hand-made (hostile) pickles. */
export interface PyBytes {
  py: 'raw';
  bytes: Uint8Array;
}

export const pyTuple = (...items: PyValue[]): PyTuple => ({ py: 'tuple', items });
export const pyGlobal = (module: string, name: string): PyGlobal => ({ py: 'global', module, name });
export const pyFloat = (value: number): PyFloat => ({ py: 'float', value });

const globals = new Map<string, PyGlobal>();
/** The same global object for the same name (Python's classes and functions are single objects). */
export function sharedGlobal(module: string, name: string): PyGlobal {
  const key = `${module}.${name}`;
  if (!globals.has(key)) globals.set(key, pyGlobal(module, name));
  return globals.get(key)!;
}

/** `collections.OrderedDict()` with items (and the attributes `__dict__` holds, e.g. `_metadata`). */
export function orderedDict(entries: Array<[PyValue, PyValue]>, attributes?: PyDict): PyReduce {
  return {
    py: 'reduce',
    callable: sharedGlobal('collections', 'OrderedDict'),
    args: pyTuple(),
    dictItems: entries,
    ...(attributes ? { state: attributes } : {}),
  };
}

const BATCH = 1000;

class Pickler {
  private readonly out: number[] = [];
  private readonly memo = new Map<unknown, number>();

  dump(value: PyValue): Uint8Array {
    this.out.push(0x80, 2);
    this.save(value);
    this.out.push(0x2e);
    return Uint8Array.from(this.out);
  }

  private bytes(...values: number[]): void {
    this.out.push(...values);
  }

  private append(values: Uint8Array): void {
    for (const value of values) this.out.push(value);
  }

  private u32(value: number): number[] {
    return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
  }

  private memoize(key: unknown): void {
    const index = this.memo.size;
    this.memo.set(key, index);
    if (index < 256) this.bytes(0x71, index);
    else this.bytes(0x72, ...this.u32(index));
  }

  /** BINGET when `key` was memoized; returns whether it was. */
  private fromMemo(key: unknown): boolean {
    const index = this.memo.get(key);
    if (index === undefined) return false;
    if (index < 256) this.bytes(0x68, index);
    else this.bytes(0x6a, ...this.u32(index));
    return true;
  }

  private save(value: PyValue): void {
    if (value === null) return this.bytes(0x4e);
    if (value === true) return this.bytes(0x88);
    if (value === false) return this.bytes(0x89);
    if (typeof value === 'number') return this.int(value);
    if (typeof value === 'string') return this.string(value, `str:${value}`);
    switch (value.py) {
      case 'str':
        return this.string(value.value, value);
      case 'float': {
        const view = new DataView(new ArrayBuffer(8));
        view.setFloat64(0, value.value, false);
        return this.bytes(0x47, ...new Uint8Array(view.buffer));
      }
      case 'raw':
        return this.append(value.bytes);
      case 'persistent':
        this.save(value.id);
        return this.bytes(0x51);
      case 'global': {
        if (this.fromMemo(value)) return;
        this.bytes(0x63);
        this.append(new TextEncoder().encode(`${value.module}\n${value.name}\n`));
        return this.memoize(value);
      }
      case 'tuple':
        return this.tuple(value);
      case 'list':
        if (this.fromMemo(value)) return;
        this.bytes(0x5d);
        this.memoize(value);
        return this.appends(value.items);
      case 'dict':
        if (this.fromMemo(value)) return;
        this.bytes(0x7d);
        this.memoize(value);
        return this.setItems(value.entries);
      case 'reduce':
        if (this.fromMemo(value)) return;
        this.save(value.callable);
        this.save(value.args);
        this.bytes(0x52);
        this.memoize(value);
        if (value.dictItems) this.setItems(value.dictItems);
        if (value.state !== undefined) {
          this.save(value.state);
          this.bytes(0x62);
        }
    }
  }

  private string(text: string, identity: unknown): void {
    if (this.fromMemo(identity)) return;
    const encoded = new TextEncoder().encode(text);
    this.bytes(0x58, ...this.u32(encoded.length));
    this.append(encoded);
    this.memoize(identity);
  }

  private int(value: number): void {
    if (!Number.isInteger(value)) throw new Error(`pickler: ${value} is not an int (use pyFloat)`);
    if (value >= 0 && value <= 0xff) return this.bytes(0x4b, value);
    if (value >= 0 && value <= 0xffff) return this.bytes(0x4d, value & 0xff, value >> 8);
    if (value >= -(2 ** 31) && value < 2 ** 31) return this.bytes(0x4a, ...this.u32(value >>> 0));
    // LONG1: little-endian two's complement, as short as Python's encode_long makes it
    let big = BigInt(value);
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(big & 0xffn));
      big >>= 8n;
      const sign = bytes[bytes.length - 1]! & 0x80;
      if ((big === 0n && !sign) || (big === -1n && sign)) break;
    }
    this.bytes(0x8a, bytes.length, ...bytes);
  }

  private tuple(value: PyTuple): void {
    const n = value.items.length;
    if (n === 0) return this.bytes(0x29);
    if (this.fromMemo(value)) return;
    if (n <= 3) {
      for (const item of value.items) this.save(item);
      this.bytes(0x84 + n); // TUPLE1..3
    } else {
      this.bytes(0x28);
      for (const item of value.items) this.save(item);
      this.bytes(0x74);
    }
    this.memoize(value);
  }

  private appends(items: PyValue[]): void {
    for (let start = 0; start < items.length; start += BATCH) {
      const batch = items.slice(start, start + BATCH);
      if (batch.length === 1) {
        this.save(batch[0]!);
        this.bytes(0x61);
        continue;
      }
      this.bytes(0x28);
      for (const item of batch) this.save(item);
      this.bytes(0x65);
    }
  }

  private setItems(entries: Array<[PyValue, PyValue]>): void {
    for (let start = 0; start < entries.length; start += BATCH) {
      const batch = entries.slice(start, start + BATCH);
      if (batch.length === 1) {
        this.save(batch[0]![0]);
        this.save(batch[0]![1]);
        this.bytes(0x73);
        continue;
      }
      this.bytes(0x28);
      for (const [key, item] of batch) {
        this.save(key);
        this.save(item);
      }
      this.bytes(0x75);
    }
  }
}

/** The protocol-2 pickle of `value`, PROTO to STOP. */
export function pickle(value: PyValue): Uint8Array {
  return new Pickler().dump(value);
}
