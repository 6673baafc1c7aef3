/**
 * The weight formats a model folder or Hub repo may hold, and which one is read: safetensors
 * (`model.safetensors`, or `model.safetensors.index.json` + shards) when present, else PyTorch
 * checkpoints (`pytorch_model.bin`, or `pytorch_model.bin.index.json` + shards), read without
 * running them (src/models/torch/). The choice is made from the file names alone, so a Hub
 * download fetches only the chosen format's files (src/models/hub/hub-download.ts).
 */
import { ModelError, quote } from '../errors.js';

export type WeightFormat = 'safetensors' | 'pytorch';

interface FormatFiles {
  format: WeightFormat;
  single: string;
  index: string;
  /** A shard an index may name: a plain file name of the format. */
  shard: RegExp;
}

/** In order of preference: safetensors are read when a repo has both. */
export const WEIGHT_FORMATS: readonly FormatFiles[] = [
  { format: 'safetensors', single: 'model.safetensors', index: 'model.safetensors.index.json', shard: /^[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$/ },
  { format: 'pytorch', single: 'pytorch_model.bin', index: 'pytorch_model.bin.index.json', shard: /^[A-Za-z0-9][A-Za-z0-9._-]*\.bin$/ },
];

/** Every file name that starts a model's weights (a single file or an index), for guards on what an output may replace. */
export const WEIGHT_ENTRY_FILES: readonly string[] = WEIGHT_FORMATS.flatMap(({ single, index }) => [single, index]);

export interface WeightChoice {
  format: WeightFormat;
  /** The single weights file or the index to read first. */
  entry: string;
  /** Whether `entry` is an index whose weight_map names the shards. */
  sharded: boolean;
}

/** Which weights of `names` (a folder's or a repo's files) are read, or undefined when it has none. Within a format an index wins over a single file. */
export function chooseWeights(names: readonly string[]): WeightChoice | undefined {
  const present = new Set(names);
  for (const { format, single, index } of WEIGHT_FORMATS) {
    if (present.has(index)) return { format, entry: index, sharded: true };
    if (present.has(single)) return { format, entry: single, sharded: false };
  }
  return undefined;
}

/** Whether `name` starts a model's weights (a single weights file or an index). */
export const isWeightEntry = (name: string): boolean => WEIGHT_ENTRY_FILES.includes(name);

/** Whether `name` is a weights index. */
export const isWeightIndex = (name: string): boolean => WEIGHT_FORMATS.some(({ index }) => index === name);

/** The format of a weights file by its name (shards included), or undefined. */
export function weightFormatOf(name: string): WeightFormat | undefined {
  if (name.endsWith('.safetensors')) return 'safetensors';
  if (/^pytorch_model.*\.bin$/.test(name)) return 'pytorch';
  return undefined;
}

/**
 * The shards of the index `entry` as a repo listing shows them, before the index is read: the
 * top-level files of its format beside it (`*.safetensors`, `pytorch_model*.bin`); none for a
 * single weights file.
 */
export function listedShards(names: readonly string[], entry: string): string[] {
  const format = WEIGHT_FORMATS.find(({ index }) => index === entry)?.format;
  if (format === undefined) return [];
  return names.filter((name) => !name.includes('/') && weightFormatOf(name) === format);
}

/** Files a model's weights consist of (entries, indexes, shards): what `sweep --evict` may remove. */
export const isWeightFileName = (name: string): boolean => isWeightIndex(name) || weightFormatOf(name) !== undefined;

/** Validate a shard name from an index file: a plain file name of the index's format inside the model folder. */
export function checkShardName(name: unknown, indexPath: string, format: WeightFormat = 'safetensors'): string {
  const { shard } = WEIGHT_FORMATS.find((entry) => entry.format === format)!;
  const extension = format === 'safetensors' ? '*.safetensors' : '*.bin';
  if (typeof name !== 'string' || !shard.test(name) || name.includes('..')) {
    throw new ModelError(`${quote(indexPath)} names shard ${quote(name)}; shard names must be plain ${extension} file names inside the model folder`);
  }
  return name;
}

/** Other weight files people keep (checkpoints of other names and frameworks), which are not read. */
const UNREAD_WEIGHTS = /\.(bin|pt|pth|ckpt|pkl|h5|msgpack|ot|gguf|onnx)$/;

/** The refusal for a folder or repo (`where`) with no weights this tool reads, naming what it has instead. */
export function noWeightsError(where: string, names: readonly string[]): ModelError {
  const others = names.filter((name) => UNREAD_WEIGHTS.test(name));
  const expected = WEIGHT_FORMATS.map(({ single, index }) => `${single} (or ${index} + shards)`).join(' or ');
  const found = others.length > 0 ? `; it has ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}, which are not read` : '';
  return new ModelError(`${quote(where)} has no weights to read: expected ${expected}${found}`);
}
