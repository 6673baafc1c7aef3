/**
 * Typed, validating access to a Hugging Face config.json. Every problem is collected, then
 * reported in one message before any allocation happens (a config saying n_embd = -1 or
 * 10¹² must be refused, not obeyed).
 */
import { ModelError, ProblemList, quote } from '../errors.js';
import type { HfConfig, ModelDims, ModelShape } from './types.js';

/** Anything larger is not a real model dimension and would only exhaust memory. */
const MAX_DIMENSION = 1 << 24;

/**
 * The largest value accepted for each dimension, checked before anything is allocated. Real
 * models are far below (GPT2-XL: 48 layers, d_model 1600; the largest open models: ~128
 * layers, d_model ~16k, vocabularies ~256k); a config beyond these is refused, not obeyed.
 * Documented in the README (Models are untrusted input).
 */
export const DIMENSION_LIMITS = {
  nLayers: 1024,
  dModel: 65536,
  nHeads: 1024,
  dHead: 4096,
  dMlp: 1 << 20,
  dVocab: 1 << 22,
  nCtx: 1 << 24,
} as const;

type ConfigKeys = string | readonly string[];

/** Where a family's config.json keeps each dimension (the first key present wins). */
export interface DimensionKeys {
  nLayers: ConfigKeys;
  dModel: ConfigKeys;
  nHeads: ConfigKeys;
  dMlp: ConfigKeys;
  nCtx: ConfigKeys;
  /** d_mlp = mlpRatio × d_model when the config leaves it out; without it d_mlp is required. */
  mlpRatio?: number;
}

function firstKey(keys: ConfigKeys): string {
  return typeof keys === 'string' ? keys : keys[0]!;
}

export class ConfigReader {
  private readonly problems = new ProblemList();

  constructor(
    private readonly config: HfConfig,
    private readonly path: string,
  ) {}

  /** The first key present among `keys` (families name the same thing differently). */
  private pick(keys: readonly string[]): { key: string; value: unknown } | undefined {
    for (const key of keys) {
      if (this.config[key] !== undefined && this.config[key] !== null) return { key, value: this.config[key] };
    }
    return undefined;
  }

  positiveInt(keys: ConfigKeys, fallback?: number, max: number = MAX_DIMENSION): number {
    const list = typeof keys === 'string' ? [keys] : keys;
    const found = this.pick(list);
    if (found === undefined) {
      if (fallback !== undefined) return fallback;
      this.problems.add(`missing ${list.join(' or ')}`);
      return 1;
    }
    const { key, value } = found;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
      this.problems.add(`${key} is ${quote(value)}; expected a positive integer up to ${max}`);
      return 1;
    }
    return value;
  }

  positiveNumber(keys: ConfigKeys, fallback: number): number {
    const found = this.pick(typeof keys === 'string' ? [keys] : keys);
    if (found === undefined) return fallback;
    if (typeof found.value !== 'number' || !(found.value > 0) || !Number.isFinite(found.value)) {
      this.problems.add(`${found.key} is ${quote(found.value)}; expected a positive number`);
      return fallback;
    }
    return found.value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.config[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.problems.add(`${key} is ${quote(value)}; expected true or false`);
      return fallback;
    }
    return value;
  }

  string(keys: ConfigKeys, fallback: string): string {
    const found = this.pick(typeof keys === 'string' ? [keys] : keys);
    if (found === undefined) return fallback;
    if (typeof found.value !== 'string') {
      this.problems.add(`${found.key} is ${quote(found.value)}; expected a string`);
      return fallback;
    }
    return found.value;
  }

  /** Token id, or null when absent. */
  tokenId(key: string): number | null {
    return this.tokenIds(key)[0] ?? null; // some configs list several: the first is the one to prepend
  }

  /** Every id under `key` (one id or a list of them); none when absent or null. */
  tokenIds(key: string): number[] {
    const value = this.config[key];
    if (value === undefined || value === null) return [];
    const isId = (id: unknown): id is number => typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
    if (isId(value)) return [value];
    if (Array.isArray(value) && value.length > 0 && value.every(isId)) return value;
    this.problems.add(`${key} is ${quote(value)}; expected a token id (an integer ≥ 0) or a list of them`);
    return [];
  }

  /** The model's BOS, EOS and padding ids (config.json), sorted, each once. */
  specialTokenIds(): { bos: number | null; eos: number | null; all: number[] } {
    const bos = this.tokenIds('bos_token_id');
    const eos = this.tokenIds('eos_token_id');
    const all = [...new Set([...bos, ...eos, ...this.tokenIds('pad_token_id')])].sort((a, b) => a - b);
    return { bos: bos[0] ?? null, eos: eos[0] ?? null, all };
  }

  /**
   * The dimensions of a model whose heads each have their own keys and values and split d_model
   * evenly (every family but Llama's), read under that family's key names, with the check that
   * the heads divide d_model.
   */
  evenHeadDims(keys: DimensionKeys): ModelDims {
    const dModel = this.positiveInt(keys.dModel, undefined, DIMENSION_LIMITS.dModel);
    const nHeads = this.positiveInt(keys.nHeads, undefined, DIMENSION_LIMITS.nHeads);
    const dims: ModelDims = {
      nLayers: this.positiveInt(keys.nLayers, undefined, DIMENSION_LIMITS.nLayers),
      dModel,
      nHeads,
      nKvHeads: nHeads,
      dHead: Math.floor(dModel / nHeads),
      dMlp: this.positiveInt(keys.dMlp, keys.mlpRatio === undefined ? undefined : keys.mlpRatio * dModel, DIMENSION_LIMITS.dMlp),
      dVocab: this.positiveInt('vocab_size', undefined, DIMENSION_LIMITS.dVocab),
      nCtx: this.positiveInt(keys.nCtx, undefined, DIMENSION_LIMITS.nCtx),
    };
    this.require(dModel % nHeads === 0, `${firstKey(keys.nHeads)} ${nHeads} does not divide ${firstKey(keys.dModel)} ${dModel}`);
    return dims;
  }

  /**
   * The dimensions under Llama's keys (hidden_size, num_attention_heads, num_key_value_heads,
   * head_dim, intermediate_size, …), which most modern families share: grouped-query attention,
   * and a head_dim that may be set apart from hidden_size / num_attention_heads
   * (`headDimDefault` when the config has none: the family's transformers default, else
   * hidden_size / num_attention_heads).
   */
  llamaStyleDims(headDimDefault?: number): ModelDims {
    const dModel = this.positiveInt('hidden_size', undefined, DIMENSION_LIMITS.dModel);
    const nHeads = this.positiveInt('num_attention_heads', undefined, DIMENSION_LIMITS.nHeads);
    const nKvHeads = this.positiveInt('num_key_value_heads', nHeads, DIMENSION_LIMITS.nHeads);
    const explicitHeadDim = this.config.head_dim !== undefined && this.config.head_dim !== null;
    const dims: ModelDims = {
      nLayers: this.positiveInt('num_hidden_layers', undefined, DIMENSION_LIMITS.nLayers),
      dModel,
      nHeads,
      nKvHeads,
      dHead: this.positiveInt('head_dim', headDimDefault ?? Math.max(1, Math.floor(dModel / nHeads)), DIMENSION_LIMITS.dHead),
      dMlp: this.positiveInt('intermediate_size', undefined, DIMENSION_LIMITS.dMlp),
      dVocab: this.positiveInt('vocab_size', undefined, DIMENSION_LIMITS.dVocab),
      nCtx: this.positiveInt('max_position_embeddings', undefined, DIMENSION_LIMITS.nCtx),
    };
    this.require(
      explicitHeadDim || headDimDefault !== undefined || dModel % nHeads === 0,
      `num_attention_heads ${nHeads} does not divide hidden_size ${dModel} (and no head_dim is given)`,
    );
    this.require(nHeads % nKvHeads === 0, `num_key_value_heads ${nKvHeads} does not divide num_attention_heads ${nHeads}`);
    return dims;
  }

  /** `sliding_window`: a positive integer, null for none, `fallback` when absent (transformers' default for the family). */
  slidingWindow(fallback: number | undefined): number | undefined {
    const value = this.config.sliding_window;
    if (value === null) return undefined;
    if (value === undefined) return fallback;
    const ok = typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_DIMENSION;
    this.require(ok, `sliding_window is ${quote(value)}; expected a positive integer or null`);
    return ok ? value : undefined;
  }

  /** `layer_types` (one "full_attention" or "sliding_attention" per layer), or undefined when the config has none. */
  layerTypes(nLayers: number): Array<'full_attention' | 'sliding_attention'> | undefined {
    const value = this.config.layer_types;
    if (value === undefined || value === null) return undefined;
    const valid = Array.isArray(value) && value.length === nLayers && value.every((type) => type === 'full_attention' || type === 'sliding_attention');
    this.require(valid, `layer_types is ${quote(value)}; expected ${nLayers} entries of "full_attention" or "sliding_attention"`);
    return valid ? (value as Array<'full_attention' | 'sliding_attention'>) : undefined;
  }

  /** Record a problem found by the caller (e.g. heads that do not divide d_model). */
  require(condition: boolean, problem: string): void {
    if (!condition) this.problems.add(problem);
  }

  raw(key: string): unknown {
    return this.config[key];
  }

  /** Throw one ModelError listing every problem found so far. */
  finish(): void {
    this.problems.throwIfAny((message) => new ModelError(`invalid ${quote(this.path)}: ${message}`));
  }
}

/** An adapter's readShape from its config reading: the shape, with every problem reported. */
export function finishedShape(
  read: (config: HfConfig, configPath: string) => { shape: ModelShape; reader: ConfigReader },
): (config: HfConfig, configPath: string) => ModelShape {
  return (config, configPath) => {
    const { shape, reader } = read(config, configPath);
    reader.finish();
    return shape;
  };
}
