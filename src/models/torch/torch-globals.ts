/**
 * The names a PyTorch checkpoint's pickle may use: exactly the allow-list of
 * `torch.load(weights_only=True)` (`_get_allowed_globals` in torch/_weights_only_unpickler.py),
 * as data. Any other name — `posix.system`, `builtins.eval`, a class of the model's code — is
 * refused before anything is built. Of the allowed names, the ones a state dict of weights
 * uses are understood (src/models/torch/torch-pickle.ts); the others (quantized, sparse, meta,
 * numpy and subclass tensors, complex values) are allowed by torch but are not weights this
 * tool can use, and are refused as unsupported.
 */
import type { SafetensorsDtype } from '../safetensors.js';

/** Modules torch refuses even when a user allow-lists a name in them. */
export const BLOCKED_MODULES = new Set(['sys', 'os', 'posix', 'nt']);

/** Python 2 module names that torch maps to their Python 3 names before looking a GLOBAL up. */
const PYTHON2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

export function globalName(module: string, name: string): string {
  return `${PYTHON2_MODULES[module] ?? module}.${name}`;
}

/** Storage classes (`torch.FloatStorage`…) by class name: their elements' dtype (null: not readable as weights) and size in bytes. */
export const STORAGE_TYPES: Record<string, { dtype: SafetensorsDtype | null; elementBytes: number }> = {
  DoubleStorage: { dtype: 'F64', elementBytes: 8 },
  FloatStorage: { dtype: 'F32', elementBytes: 4 },
  HalfStorage: { dtype: 'F16', elementBytes: 2 },
  BFloat16Storage: { dtype: 'BF16', elementBytes: 2 },
  LongStorage: { dtype: 'I64', elementBytes: 8 },
  IntStorage: { dtype: 'I32', elementBytes: 4 },
  ShortStorage: { dtype: 'I16', elementBytes: 2 },
  CharStorage: { dtype: 'I8', elementBytes: 1 },
  ByteStorage: { dtype: 'U8', elementBytes: 1 },
  BoolStorage: { dtype: 'BOOL', elementBytes: 1 },
  ComplexDoubleStorage: { dtype: null, elementBytes: 16 },
  ComplexFloatStorage: { dtype: null, elementBytes: 8 },
  QUInt8Storage: { dtype: null, elementBytes: 1 },
  QInt8Storage: { dtype: null, elementBytes: 1 },
  QInt32Storage: { dtype: null, elementBytes: 4 },
  QUInt4x2Storage: { dtype: null, elementBytes: 1 },
  QUInt2x4Storage: { dtype: null, elementBytes: 1 },
  UntypedStorage: { dtype: 'U8', elementBytes: 1 },
};

/** torch dtypes (`torch.float32`…) by name: the dtype, or null when allowed but not readable. */
export const DTYPES: Record<string, SafetensorsDtype | null> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
  float8_e4m3fn: 'F8_E4M3',
  float8_e5m2: 'F8_E5M2',
  ...Object.fromEntries(
    [
      'complex32',
      'complex64',
      'complex128',
      'qint8',
      'quint8',
      'qint32',
      'quint4x2',
      'quint2x4',
      'float8_e5m2fnuz',
      'float8_e4m3fnuz',
      'uint16',
      'uint32',
      'uint64',
      'bits1x8',
      'bits2x4',
      'bits4x2',
      'bits8',
      'bits16',
      ...[1, 2, 3, 4, 5, 6, 7].flatMap((bits) => [`uint${bits}`, `int${bits}`]),
    ].map((name) => [name, null]),
  ),
};

/** What an allowed name is, for the hooks that give it meaning. */
export type GlobalRole =
  | { role: 'dict' } // collections.OrderedDict, collections.Counter
  | { role: 'parameter' }
  | { role: 'size' }
  | { role: 'tensor-class' }
  | { role: 'device' }
  | { role: 'encode' } // _codecs.encode, how protocol 2 pickles bytes
  | { role: 'builtin'; builtin: 'set' | 'bytearray' | 'complex' }
  | { role: 'storage'; className: string; dtype: SafetensorsDtype | null; elementBytes: number }
  | { role: 'dtype'; dtype: SafetensorsDtype | null }
  | { role: 'rebuild'; rebuild: RebuildFunction }
  | { role: 'unsupported'; what: string };

/** torch._utils rebuild functions a weights checkpoint uses. */
export type RebuildFunction =
  | '_rebuild_tensor'
  | '_rebuild_tensor_v2'
  | '_rebuild_tensor_v3'
  | '_rebuild_parameter'
  | '_rebuild_parameter_with_state'
  | '_rebuild_from_type_v2';

function buildAllowList(): Map<string, GlobalRole> {
  const allowed = new Map<string, GlobalRole>([
    ['collections.OrderedDict', { role: 'dict' }],
    ['collections.Counter', { role: 'dict' }],
    ['torch.nn.parameter.Parameter', { role: 'parameter' }],
    ['torch.Size', { role: 'size' }],
    ['torch.Tensor', { role: 'tensor-class' }],
    ['torch.device', { role: 'device' }],
    ['_codecs.encode', { role: 'encode' }],
    ['builtins.set', { role: 'builtin', builtin: 'set' }],
    ['builtins.bytearray', { role: 'builtin', builtin: 'bytearray' }],
    ['builtins.complex', { role: 'builtin', builtin: 'complex' }],
    ['torch.serialization._get_layout', { role: 'unsupported', what: 'sparse tensors' }],
    ['torch.storage.UntypedStorage', { role: 'storage', className: 'UntypedStorage', ...STORAGE_TYPES.UntypedStorage! }],
    ['torch.storage.TypedStorage', { role: 'unsupported', what: 'TypedStorage objects' }],
    ['torch._tensor._rebuild_from_type_v2', { role: 'rebuild', rebuild: '_rebuild_from_type_v2' }],
  ]);
  for (const [name, dtype] of Object.entries(DTYPES)) allowed.set(`torch.${name}`, { role: 'dtype', dtype });
  for (const [className, type] of Object.entries(STORAGE_TYPES)) {
    if (className === 'UntypedStorage') continue;
    allowed.set(`torch.${className}`, { role: 'storage', className, ...type });
    allowed.set(`torch.cuda.${className}`, { role: 'storage', className, ...type });
  }
  for (const kind of ['Double', 'Float', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool']) {
    allowed.set(`torch.${kind}Tensor`, { role: 'tensor-class' });
    allowed.set(`torch.cuda.${kind}Tensor`, { role: 'tensor-class' });
  }
  for (const scheme of ['per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine', 'per_channel_symmetric', 'per_channel_affine_float_qparams']) {
    allowed.set(`torch.${scheme}`, { role: 'unsupported', what: 'quantized tensors' });
  }
  for (const rebuild of ['_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter', '_rebuild_parameter_with_state'] as const) {
    allowed.set(`torch._utils.${rebuild}`, { role: 'rebuild', rebuild });
  }
  const unsupported: Record<string, string> = {
    _rebuild_qtensor: 'quantized tensors',
    _rebuild_sparse_tensor: 'sparse tensors',
    _rebuild_meta_tensor_no_storage: 'meta tensors (no data)',
    _rebuild_wrapper_subclass: 'tensor subclasses',
    _rebuild_device_tensor_from_numpy: 'tensors stored as numpy arrays',
    _rebuild_device_tensor_from_cpu_tensor: 'device tensors',
  };
  for (const [name, what] of Object.entries(unsupported)) allowed.set(`torch._utils.${name}`, { role: 'unsupported', what });
  return allowed;
}

export const ALLOWED_GLOBALS: ReadonlyMap<string, GlobalRole> = buildAllowList();
