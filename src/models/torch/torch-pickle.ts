/**
 * What the allowed names of a torch.save pickle mean (src/models/torch/torch-globals.ts), as
 * pure data: `OrderedDict()` is an empty dict, `torch._utils._rebuild_tensor_v2(storage, offset,
 * size, stride, …)` a tensor description, a persistent id `("storage", type, key, location,
 * numel)` a storage description that the container format (zip or legacy) resolves to a byte
 * range. Nothing is called, imported or allocated beyond these descriptions.
 */
import type { SafetensorsDtype } from '../safetensors.js';
import { ALLOWED_GLOBALS, BLOCKED_MODULES, globalName, type GlobalRole } from './torch-globals.js';
import { describeValue, PickleError, type PickleHooks, type PickleObject, type PickleTuple, type PickleValue } from './restricted-unpickler.js';

/** An allowed global, not called. */
export type GlobalValue = { kind: 'object'; type: 'global'; name: string; meaning: GlobalRole };

/** A persistent id's storage, as the container resolves it. `dtype` null: a storage type that holds no readable weights. */
export type StorageValue = {
  kind: 'object';
  type: 'storage';
  key: string;
  className: string;
  dtype: SafetensorsDtype | null;
  elementBytes: number;
  numel: number;
  location: string;
};

/** A tensor: `shape` elements of `storage`, `strides` apart (in elements), from element `offset`. */
export type TensorValue = {
  kind: 'object';
  type: 'tensor';
  storage: StorageValue;
  dtype: SafetensorsDtype | null;
  offset: number;
  shape: number[];
  strides: number[];
};

/** What a persistent id says, checked; the container turns it into a storage (and its view, for the legacy format). */
export interface StoragePid {
  className: string;
  dtype: SafetensorsDtype | null;
  elementBytes: number;
  key: string;
  location: string;
  numel: number;
  /** Fields after numel (the legacy format's view metadata). */
  rest: readonly PickleValue[];
}

const MAX_DIMS = 64;

function refused(what: string): PickleError {
  return new PickleError(what);
}

const isObject = (value: PickleValue, type: string): value is PickleObject =>
  typeof value === 'object' && value !== null && value.kind === 'object' && value.type === type;

function asGlobal(value: PickleValue): GlobalValue | undefined {
  return isObject(value, 'global') ? (value as GlobalValue) : undefined;
}

function safeInt(value: PickleValue, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw refused(`${what} is ${describeNumber(value)}; expected an integer ≥ ${min}`);
  return value;
}

function describeNumber(value: PickleValue): string {
  return typeof value === 'number' || typeof value === 'bigint' ? String(value) : describeValue(value);
}

function intTuple(value: PickleValue, what: string): number[] {
  if (typeof value !== 'object' || value === null || value.kind !== 'tuple') throw refused(`${what} is ${describeValue(value)}, not a tuple of integers`);
  if (value.items.length > MAX_DIMS) throw refused(`${what} has ${value.items.length} dimensions (at most ${MAX_DIMS})`);
  return value.items.map((item, i) => safeInt(item, `${what}[${i}]`));
}

function text(value: PickleValue): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && value.kind === 'bytes') return Buffer.from(value.data).toString('latin1');
  return undefined;
}

function isEmpty(value: PickleValue): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  if (value.kind === 'dict') return value.entries.size === 0;
  if (value.kind === 'tuple' || value.kind === 'list') return value.items.length === 0;
  return false;
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])` and its kin. */
function rebuildTensor(args: readonly PickleValue[], dtypeOverride?: PickleValue): TensorValue {
  const [storage, offset, size, stride] = args;
  if (storage === undefined || !isObject(storage, 'storage'))
    throw refused(`a tensor is rebuilt from ${storage === undefined ? 'nothing' : describeValue(storage)}, not a storage`);
  const shape = intTuple(size ?? null, 'a tensor size');
  const strides = intTuple(stride ?? null, 'a tensor stride');
  if (strides.length !== shape.length) throw refused(`a tensor has size of ${shape.length} dimensions but stride of ${strides.length}`);
  let dtype = (storage as StorageValue).dtype;
  if (dtypeOverride !== undefined) {
    const global = asGlobal(dtypeOverride);
    if (global?.meaning.role !== 'dtype') throw refused(`a tensor's dtype is ${describeValue(dtypeOverride)}, not a torch dtype`);
    dtype = global.meaning.dtype;
  }
  return { kind: 'object', type: 'tensor', storage: storage as StorageValue, dtype, offset: safeInt(offset ?? null, 'a storage offset'), shape, strides };
}

function callRebuild(name: string, args: readonly PickleValue[]): PickleValue {
  switch (name) {
    case '_rebuild_tensor':
    case '_rebuild_tensor_v2':
      if (args.length < 4) throw refused(`${name} is given ${args.length} arguments`);
      if (name === '_rebuild_tensor_v2' && args[5] !== undefined && !isEmpty(args[5])) throw refused('a tensor carries backward hooks');
      return rebuildTensor(args);
    case '_rebuild_tensor_v3':
      if (args.length < 7) throw refused(`${name} is given ${args.length} arguments`);
      return rebuildTensor(args, args[6]);
    case '_rebuild_parameter':
    case '_rebuild_parameter_with_state': {
      const data = args[0];
      if (data === undefined || !isObject(data, 'tensor'))
        throw refused(`a parameter is rebuilt from ${data === undefined ? 'nothing' : describeValue(data)}, not a tensor`);
      return data;
    }
    case '_rebuild_from_type_v2': {
      // (func, new_type, args, state): a tensor whose class is torch.Tensor or Parameter, without Python attributes.
      const [func, newType, innerArgs, state] = args;
      const rebuild = func === undefined ? undefined : asGlobal(func);
      const type = newType === undefined ? undefined : asGlobal(newType);
      if (rebuild?.meaning.role !== 'rebuild' || (type?.meaning.role !== 'tensor-class' && type?.meaning.role !== 'parameter')) {
        throw refused('_rebuild_from_type_v2 rebuilds something other than a plain tensor (a tensor subclass)');
      }
      if (state !== undefined && !isEmpty(state)) throw refused('a tensor carries Python attributes (a tensor subclass)');
      if (innerArgs === undefined || typeof innerArgs !== 'object' || innerArgs === null || innerArgs.kind !== 'tuple')
        throw refused('_rebuild_from_type_v2 is given arguments that are not a tuple');
      return callRebuild(rebuild.meaning.rebuild, innerArgs.items);
    }
    default:
      throw refused(`${name} is not a rebuild function`);
  }
}

function call(callable: PickleValue, args: PickleTuple, opcode: 'REDUCE' | 'NEWOBJ'): PickleValue {
  const global = asGlobal(callable);
  if (global === undefined) throw refused(`${opcode} calls ${describeValue(callable)}, which is not an allowed global`);
  const items = args.items;
  const meaning = global.meaning;
  switch (meaning.role) {
    case 'dict': {
      const dict: PickleValue = { kind: 'dict', entries: new Map() };
      if (items.length === 0 || opcode === 'NEWOBJ') return dict;
      const source = items[0]!;
      if (typeof source === 'object' && source !== null && source.kind === 'dict') return { kind: 'dict', entries: new Map(source.entries) };
      throw refused(`${global.name} is built from ${describeValue(source)}`);
    }
    case 'size': {
      const source = items[0];
      intTuple(source ?? null, 'a torch.Size');
      return source!;
    }
    case 'parameter':
      if (opcode === 'NEWOBJ' && items[0] !== undefined && isObject(items[0], 'tensor')) return items[0];
      throw refused(`${global.name} is ${opcode === 'NEWOBJ' ? 'made from' : 'called with'} ${describeValue(items[0] ?? null)}, not a tensor`);
    case 'device': {
      const name = text(items[0] ?? null);
      if (name === undefined) throw refused(`torch.device is given ${describeValue(items[0] ?? null)}`);
      return name;
    }
    case 'encode': {
      // protocol 2 pickles bytes as _codecs.encode(text, 'latin1')
      const value = items[0];
      if (typeof value !== 'string' || (items[1] !== 'latin1' && items[1] !== 'latin-1'))
        throw refused('_codecs.encode is called with other than (text, "latin1")');
      return { kind: 'bytes', data: Buffer.from(value, 'latin1') };
    }
    case 'builtin':
      if (meaning.builtin === 'set') return { kind: 'set', items: [] };
      throw refused(`builtins.${meaning.builtin} values are allowed by torch but never part of weights; unsupported here`);
    case 'rebuild':
      if (opcode === 'NEWOBJ') throw refused(`NEWOBJ of ${global.name}`);
      return callRebuild(meaning.rebuild, items);
    case 'unsupported':
      throw refused(`${global.name} (${meaning.what}) is allowed by torch but holds no weights this tool reads`);
    default:
      throw refused(`${opcode} calls ${global.name}, which cannot be called`);
  }
}

/**
 * The hooks of a torch pickle. `loadStorage` resolves a checked persistent id to the
 * container's storage (the zip's record, the legacy file's storage table).
 */
export function torchPickleHooks(loadStorage: (pid: StoragePid) => PickleValue): PickleHooks {
  return {
    global(module, name) {
      const full = globalName(module, name);
      const top = full.split('.')[0]!;
      if (BLOCKED_MODULES.has(top)) throw refused(`the global ${full} is never allowed (module ${top} is blocked, as in torch)`);
      const meaning = ALLOWED_GLOBALS.get(full);
      if (meaning === undefined) throw refused(`the global ${full} is not on the allow-list of torch.load(weights_only=True)`);
      return { kind: 'object', type: 'global', name: full, meaning } satisfies GlobalValue;
    },
    reduce: (callable, args) => call(callable, args, 'REDUCE'),
    newObject: (cls, args) => call(cls, args, 'NEWOBJ'),
    build(target, state) {
      // OrderedDict.__dict__ (the `_metadata` of Module.state_dict()): attributes, not items; not needed.
      if (typeof target === 'object' && target !== null && target.kind === 'dict') return target;
      throw refused(`BUILD of ${describeValue(target)} (${describeValue(state)}); only a state dict's attributes are set by BUILD`);
    },
    persistentLoad(pid) {
      if (typeof pid !== 'object' || pid === null || pid.kind !== 'tuple') throw refused(`a persistent id is ${describeValue(pid)}, not a tuple`);
      const [typename, storageType, key, location, numel, ...rest] = pid.items;
      if (text(typename ?? null) !== 'storage') throw refused(`a persistent id of type ${describeValue(typename ?? null)}; only storages are loaded`);
      const type = storageType === undefined ? undefined : asGlobal(storageType);
      if (type?.meaning.role !== 'storage') throw refused(`a storage of type ${describeValue(storageType ?? null)}, not a storage class`);
      const keyText = text(key ?? null);
      const locationText = text(location ?? null);
      if (keyText === undefined || locationText === undefined) throw refused('a storage id without a key or location string');
      const { className, dtype, elementBytes } = type.meaning;
      return loadStorage({
        className,
        dtype,
        elementBytes,
        key: keyText,
        location: locationText,
        numel: safeInt(numel ?? null, `the element count of storage ${keyText}`),
        rest,
      });
    },
  };
}

/** The tensors of an unpickled state dict (name → tensor), refusing anything that is not one. */
export function stateDictTensors(value: PickleValue): Map<string, TensorValue> {
  if (typeof value !== 'object' || value === null || value.kind !== 'dict')
    throw refused(`the checkpoint holds ${describeValue(value)}, not a state dict (a dict of tensor names → tensors)`);
  const tensors = new Map<string, TensorValue>();
  for (const [key, entry] of value.entries) {
    if (typeof key !== 'string') throw refused(`the state dict has a key ${String(key)} that is not a string`);
    if (isObject(entry, 'tensor')) tensors.set(key, entry as TensorValue);
    else if (typeof entry === 'object' && entry !== null) {
      throw refused(`the entry ${JSON.stringify(key)} holds ${describeValue(entry)}, not a tensor: a training checkpoint, not a state dict of weights`);
    }
    // numbers, strings, None next to the tensors (a step count…) are not weights: skipped
  }
  return tensors;
}
