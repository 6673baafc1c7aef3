/**
 * A pickle reader that executes nothing. It understands exactly the opcodes that PyTorch's
 * `torch.load(weights_only=True)` unpickler understands (torch/_weights_only_unpickler.py,
 * protocol 2 as torch.save writes it) and refuses every other one by name. It never looks a
 * name up in a module: GLOBAL, REDUCE, NEWOBJ, BUILD and BINPERSID are handed to `PickleHooks`,
 * which decide what an allowed name means (src/models/torch/torch-pickle.ts) and refuse the
 * rest. Every count is bounded (values, stack, memo, nesting), so a crafted pickle cannot make
 * it build huge structures; a shared value (BINGET) is one reference, never a copy.
 */

/** What a pickle builds: plain data, and whatever the hooks return for the names they allow. */
export type PickleValue = null | boolean | number | bigint | string | PickleBytes | PickleList | PickleTuple | PickleDict | PickleSet | PickleObject;

export interface PickleBytes {
  kind: 'bytes';
  data: Uint8Array;
}
export interface PickleList {
  kind: 'list';
  items: PickleValue[];
}
export interface PickleTuple {
  kind: 'tuple';
  items: readonly PickleValue[];
}
export type DictKey = string | number | bigint | boolean | null;
export interface PickleDict {
  kind: 'dict';
  entries: Map<DictKey, PickleValue>;
}
export interface PickleSet {
  kind: 'set';
  items: PickleValue[];
}
/** Anything the hooks make (an allowed global, a storage, a tensor…), opaque to the reader. */
export interface PickleObject {
  kind: 'object';
  type: string;
  [detail: string]: unknown;
}

export interface PickleHooks {
  /** GLOBAL module name: a value for an allowed name; throws PickleError for any other. */
  global(module: string, name: string): PickleValue;
  /** REDUCE: `callable(*args)`. */
  reduce(callable: PickleValue, args: PickleTuple): PickleValue;
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  newObject(cls: PickleValue, args: PickleTuple): PickleValue;
  /** BUILD: set `state` on `target`; returns the (possibly replaced) target. */
  build(target: PickleValue, state: PickleValue): PickleValue;
  /** BINPERSID: the object a persistent id names (a storage). */
  persistentLoad(pid: PickleValue): PickleValue;
}

/** A pickle refused; the message is a clause ("opcode FRAME (0x95) is not allowed"); `truncated` when it ran past the bytes given. */
export class PickleError extends Error {
  constructor(
    message: string,
    readonly truncated = false,
    /** Offset of the opcode in the pickle, once known. */
    readonly at?: number,
  ) {
    super(message);
  }
}

/** Bounds: far above what a state dict of 100,000 tensors needs (≈ 20 values per tensor). */
export const PICKLE_LIMITS = {
  /** Values pushed in all (each opcode pushes at most one). */
  values: 8_000_000,
  /** Values on the stack and under its marks at once. */
  stack: 1_000_000,
  memo: 1_000_000,
  /** MARKs open at once. */
  nesting: 1000,
  /** Length of one GLOBAL line (a module or a name). */
  line: 1000,
} as const;

/** Pickle's opcodes by byte, for naming a refused one. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

export function opcodeName(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return OPCODE_NAMES[byte] === undefined ? `unknown opcode ${hex}` : `opcode ${OPCODE_NAMES[byte]} (${hex})`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Read one pickle starting at `start`; returns the value STOP returns and the offset after STOP. */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks, start = 0): { value: PickleValue; end: number } {
  return new Reader(bytes, hooks, start).run();
}

class Reader {
  private pos: number;
  private stack: PickleValue[] = [];
  private readonly marks: PickleValue[][] = [];
  private readonly memo = new Map<number, PickleValue>();
  private held = 0;
  private pushed = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly hooks: PickleHooks,
    start: number,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): { value: PickleValue; end: number } {
    for (;;) {
      const at = this.pos;
      try {
        const op = this.byte();
        if (op === 0x2e) return { value: this.pop(), end: this.pos }; // STOP
        this.step(op);
      } catch (error) {
        if (error instanceof PickleError && error.at === undefined) throw new PickleError(error.message, error.truncated, at);
        throw error;
      }
    }
  }

  private step(op: number): void {
    switch (op) {
      case 0x80:
        this.byte();
        return; // PROTO: opcodes, not the number, decide what is read
      case 0x28:
        return this.mark();
      case 0x4e:
        return this.push(null);
      case 0x88:
        return this.push(true);
      case 0x89:
        return this.push(false);
      case 0x29:
        return this.push({ kind: 'tuple', items: [] });
      case 0x5d:
        return this.push({ kind: 'list', items: [] });
      case 0x7d:
        return this.push({ kind: 'dict', entries: new Map() });
      case 0x8f:
        return this.push({ kind: 'set', items: [] });
      case 0x4a:
        return this.push(this.view.getInt32(this.advance(4), true)); // BININT
      case 0x4b:
        return this.push(this.byte()); // BININT1
      case 0x4d:
        return this.push(this.view.getUint16(this.advance(2), true)); // BININT2
      case 0x47:
        return this.push(this.view.getFloat64(this.advance(8), false)); // BINFLOAT, big-endian
      case 0x8a:
        return this.push(decodeLong(this.take(this.byte()))); // LONG1
      case 0x58:
        return this.push(this.text(this.take(this.view.getUint32(this.advance(4), true)))); // BINUNICODE
      case 0x55:
        return this.push(this.text(this.take(this.byte()))); // SHORT_BINSTRING, read as text like torch.load
      case 0x85:
        return this.tuple(1);
      case 0x86:
        return this.tuple(2);
      case 0x87:
        return this.tuple(3);
      case 0x74:
        return this.push({ kind: 'tuple', items: this.popMark() }); // TUPLE
      case 0x71:
        return this.put(this.byte()); // BINPUT
      case 0x72:
        return this.put(this.view.getUint32(this.advance(4), true)); // LONG_BINPUT
      case 0x68:
        return this.get(this.byte()); // BINGET
      case 0x6a:
        return this.get(this.view.getUint32(this.advance(4), true)); // LONG_BINGET
      case 0x61: {
        const item = this.pop();
        return this.appendTo(this.top(), [item]);
      } // APPEND
      case 0x65: {
        const items = this.popMark();
        return this.appendTo(this.top(), items);
      } // APPENDS
      case 0x73: {
        const value = this.pop();
        const key = this.pop();
        return this.setItems(this.top(), [key, value]);
      } // SETITEM
      case 0x75: {
        const items = this.popMark();
        return this.setItems(this.top(), items);
      } // SETITEMS
      case 0x63: {
        const module = this.line();
        const name = this.line();
        return this.push(this.hooks.global(module, name));
      }
      case 0x52: {
        const args = this.popTuple('REDUCE');
        const callable = this.pop();
        return this.push(this.hooks.reduce(callable, args));
      }
      case 0x81: {
        const args = this.popTuple('NEWOBJ');
        const cls = this.pop();
        return this.push(this.hooks.newObject(cls, args));
      }
      case 0x62: {
        const state = this.pop();
        const target = this.pop();
        return this.push(this.hooks.build(target, state));
      }
      case 0x51:
        return this.push(this.hooks.persistentLoad(this.pop())); // BINPERSID
      default:
        throw new PickleError(`${opcodeName(op)} is not allowed (torch.load(weights_only=True) refuses it too)`);
    }
  }

  private byte(): number {
    if (this.pos >= this.bytes.length) throw new PickleError('the pickle ends early (it needs 1 more byte)', true);
    return this.bytes[this.pos++]!;
  }

  /** `n` bytes from the current position (a view, not a copy). */
  private take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new PickleError(`the pickle ends early (it needs ${this.pos + n - this.bytes.length} more bytes)`, true);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skip `n` bytes; returns the offset of the first, for the DataView. */
  private advance(n: number): number {
    this.take(n);
    return this.pos - n;
  }

  private text(bytes: Uint8Array): string {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new PickleError('a string is not valid UTF-8');
    }
  }

  /** A GLOBAL operand: text up to a newline, bounded. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > PICKLE_LIMITS.line) {
      if (end < 0 && this.bytes.length - this.pos <= PICKLE_LIMITS.line) throw new PickleError('the pickle ends inside a GLOBAL name', true);
      throw new PickleError(`a GLOBAL name is longer than ${PICKLE_LIMITS.line} bytes`);
    }
    const text = this.text(this.take(end - this.pos));
    this.pos += 1;
    return text;
  }

  private push(value: PickleValue): void {
    this.pushed += 1;
    this.held += 1;
    if (this.pushed > PICKLE_LIMITS.values) throw new PickleError(`the pickle builds more than ${PICKLE_LIMITS.values} values (a pickle bomb?)`);
    if (this.held > PICKLE_LIMITS.stack) throw new PickleError(`the pickle holds more than ${PICKLE_LIMITS.stack} values on its stack (a pickle bomb?)`);
    this.stack.push(value);
  }

  private pop(): PickleValue {
    if (this.stack.length === 0) throw new PickleError('the pickle pops from an empty stack (corrupt)');
    this.held -= 1;
    return this.stack.pop()!;
  }

  private top(): PickleValue {
    if (this.stack.length === 0) throw new PickleError('the pickle reads an empty stack (corrupt)');
    return this.stack[this.stack.length - 1]!;
  }

  private mark(): void {
    if (this.marks.length >= PICKLE_LIMITS.nesting) throw new PickleError(`the pickle nests more than ${PICKLE_LIMITS.nesting} MARKs (a pickle bomb?)`);
    this.marks.push(this.stack);
    this.stack = [];
  }

  /** The values pushed since the last MARK, which is closed. */
  private popMark(): PickleValue[] {
    const items = this.stack;
    const below = this.marks.pop();
    if (below === undefined) throw new PickleError('the pickle closes a MARK it never opened (corrupt)');
    this.stack = below;
    this.held -= items.length;
    return items;
  }

  private popTuple(opcode: string): PickleTuple {
    const args = this.pop();
    if (typeof args !== 'object' || args === null || args.kind !== 'tuple')
      throw new PickleError(`${opcode} is given arguments that are not a tuple (corrupt)`);
    return args;
  }

  private tuple(n: number): void {
    if (this.stack.length < n) throw new PickleError(`TUPLE${n} finds fewer than ${n} values (corrupt)`);
    const items = this.stack.splice(this.stack.length - n, n);
    this.held -= n;
    this.push({ kind: 'tuple', items });
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= PICKLE_LIMITS.memo)
      throw new PickleError(`the pickle memoizes more than ${PICKLE_LIMITS.memo} values (a pickle bomb?)`);
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    if (!this.memo.has(index)) throw new PickleError(`the pickle reads memo entry ${index}, which it never stored (corrupt)`);
    this.push(this.memo.get(index)!);
  }

  private appendTo(target: PickleValue, items: PickleValue[]): void {
    if (typeof target !== 'object' || target === null || target.kind !== 'list')
      throw new PickleError(`APPEND to ${describeValue(target)}; only lists can be appended to`);
    for (const item of items) target.items.push(item);
  }

  private setItems(target: PickleValue, items: PickleValue[]): void {
    if (typeof target !== 'object' || target === null || target.kind !== 'dict')
      throw new PickleError(`SETITEM on ${describeValue(target)}; only dicts take items`);
    if (items.length % 2 !== 0) throw new PickleError('SETITEMS is given an odd number of values (corrupt)');
    for (let i = 0; i < items.length; i += 2) target.entries.set(dictKey(items[i]!), items[i + 1]!);
  }
}

/** Pickle's LONG1: little-endian two's complement; a number when it is a safe integer. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i -= 1) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function dictKey(key: PickleValue): DictKey {
  if (key === null || typeof key !== 'object') return key;
  throw new PickleError(`a dict key is ${describeValue(key)}; only strings, numbers and booleans are read as keys`);
}

/** A value's kind as a message names it. */
export function describeValue(value: PickleValue): string {
  if (value === null) return 'None';
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (value.kind === 'object') return String(value.type);
  return `a ${value.kind}`;
}
