/**
 * Rotary-embedding settings from a Hugging Face config, as transformers reads them: the
 * `rope_scaling` dict (older configs) or else `rope_parameters` (newer ones) gives rope_type,
 * rope_theta and partial_rotary_factor; family-specific top-level keys (GPT-NeoX's
 * rotary_emb_base / rotary_pct, Llama's rope_theta) fill in what the dict leaves out.
 * Variants whose effect we reproduce exactly are supported; the others are refused by name.
 */
import { quote } from '../errors.js';
import type { ConfigReader } from './config-reader.js';
import type { RopeScaling, RotarySpec } from './types.js';

export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3'];

export interface RopeKeys {
  /** Top-level keys naming the base, tried in order after the dict's rope_theta. */
  thetaKeys: readonly string[];
  /** Top-level keys naming the rotated fraction of each head, after partial_rotary_factor. */
  fractionKeys: readonly string[];
  defaultFraction: number;
  /** The base when the config names none (the family's transformers default; Mixtral: 1e6). Absent: 10000. */
  defaultBase?: number;
  /**
   * The dict to read instead of rope_scaling / rope_parameters, with the key it is named by in
   * messages: one entry of transformers 5's rope_parameters keyed by layer type (Gemma 3's
   * `rope_parameters.sliding_attention`).
   */
  dict?: { key: string; value: unknown };
  /**
   * Accept LongRoPE (rope type longrope, or su / yarn as Phi3Config renames them): the adapter
   * must then run the model at most scaling.originalContext tokens (longRopeContext). Absent: refused.
   */
  longRope?: boolean;
}

/** Phi3Config's older names of longrope. */
const LONGROPE_ALIASES = ['su', 'yarn'];

type RopeDict = Record<string, unknown>;

/** The dict transformers would use, and the key it came from (for messages). */
function ropeDict(reader: ConfigReader): { dict: RopeDict; key: string } {
  for (const key of ['rope_scaling', 'rope_parameters']) {
    const value = reader.raw(key);
    if (value === undefined || value === null) continue;
    const isDict = typeof value === 'object' && !Array.isArray(value);
    reader.require(isDict, `${key} is ${quote(value)}; expected an object such as {"rope_type": "linear", "factor": 2}`);
    if (isDict && Object.keys(value).length > 0) return { dict: value as RopeDict, key };
  }
  return { dict: {}, key: 'rope_scaling' };
}

/** An explicitly given dict (RopeKeys.dict), checked to be one. */
function givenDict(reader: ConfigReader, given: { key: string; value: unknown }): { dict: RopeDict; key: string } {
  const { key, value } = given;
  if (value === undefined || value === null) return { dict: {}, key };
  const isDict = typeof value === 'object' && !Array.isArray(value);
  reader.require(isDict, `${key} is ${quote(value)}; expected an object such as {"rope_type": "default", "rope_theta": 10000}`);
  return { dict: isDict ? (value as RopeDict) : {}, key };
}

export function readRotary(reader: ConfigReader, dHead: number, nCtx: number, keys: RopeKeys): RotarySpec {
  const { dict, key } = keys.dict === undefined ? ropeDict(reader) : givenDict(reader, keys.dict);
  const positive = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined || value === null) return fallback;
    const ok = typeof value === 'number' && Number.isFinite(value) && value > 0;
    reader.require(ok, `${name} is ${quote(value)}; expected a positive number`);
    return ok ? value : fallback;
  };
  const firstTopLevel = (names: readonly string[]) =>
    names.map((name) => ({ name, value: reader.raw(name) })).find((entry) => entry.value !== undefined && entry.value !== null);

  const thetaEntry = dict.rope_theta !== undefined ? { name: `${key}.rope_theta`, value: dict.rope_theta } : firstTopLevel(keys.thetaKeys);
  const base = positive(thetaEntry?.name ?? 'rope_theta', thetaEntry?.value, keys.defaultBase ?? 10000);
  const fractionEntry =
    dict.partial_rotary_factor !== undefined ? { name: `${key}.partial_rotary_factor`, value: dict.partial_rotary_factor } : firstTopLevel(keys.fractionKeys);
  const fraction = positive(fractionEntry?.name ?? 'partial_rotary_factor', fractionEntry?.value, keys.defaultFraction);
  const rotaryDims = Math.floor(dHead * fraction);
  reader.require(
    fraction <= 1 && rotaryDims >= 2 && rotaryDims % 2 === 0,
    `${fractionEntry?.name ?? 'the rotary fraction'} ${fraction} rotates ${rotaryDims} of ${dHead} head dimensions; expected an even number from 2 to ${dHead}`,
  );

  const named = dict.rope_type ?? dict.type ?? 'default';
  const type = keys.longRope && typeof named === 'string' && LONGROPE_ALIASES.includes(named) ? 'longrope' : named;
  const scaling =
    type === 'longrope' && keys.longRope ? readLongRope(reader, dict, key, rotaryDims, nCtx, positive) : readScaling(reader, dict, key, type, nCtx, positive);
  return scaling === undefined ? { rotaryDims, base } : { rotaryDims, base, scaling };
}

/** The most tokens a model with this rotary runs: LongRoPE's original context (its short regime), else nCtx. */
export function longRopeContext(rotary: RotarySpec, nCtx: number): number {
  return rotary.scaling?.kind === 'longrope' ? Math.min(nCtx, rotary.scaling.originalContext) : nCtx;
}

/**
 * LongRoPE as transformers' _compute_longrope_parameters reads it: short_factor (one per
 * rotated pair), factor = max_position_embeddings / original_max_position_embeddings (the
 * top-level key, else the dict's; without either, the dict's factor), attention_factor, else
 * √(1 + ln factor / ln original) when factor > 1, else 1.
 */
function readLongRope(
  reader: ConfigReader,
  dict: RopeDict,
  key: string,
  rotaryDims: number,
  nCtx: number,
  positive: (name: string, value: unknown, fallback: number) => number,
): RopeScaling {
  const factors = (name: string): number[] => {
    const value = dict[name];
    const ok = Array.isArray(value) && value.length === rotaryDims / 2 && value.every((item) => typeof item === 'number' && Number.isFinite(item) && item > 0);
    reader.require(ok, `${key}.${name} is ${quote(value ?? null)}; expected ${rotaryDims / 2} positive numbers (one per rotated pair)`);
    return ok ? (value as number[]) : new Array<number>(rotaryDims / 2).fill(1);
  };
  const shortFactors = factors('short_factor');
  factors('long_factor'); // the long regime is never run, but a config without it is not a LongRoPE config
  const stated = reader.raw('original_max_position_embeddings') ?? dict.original_max_position_embeddings;
  const originalContext = stated === undefined || stated === null ? nCtx : positive('original_max_position_embeddings', stated, nCtx);
  const factor = stated === undefined || stated === null ? positive(`${key}.factor`, dict.factor, 1) : nCtx / originalContext;
  const derived = factor > 1 ? Math.sqrt(1 + Math.log(factor) / Math.log(originalContext)) : 1;
  const attentionFactor = positive(`${key}.attention_factor`, dict.attention_factor, derived);
  return { kind: 'longrope', shortFactors, attentionFactor, originalContext };
}

function readScaling(
  reader: ConfigReader,
  dict: RopeDict,
  key: string,
  type: unknown,
  nCtx: number,
  positive: (name: string, value: unknown, fallback: number) => number,
): RopeScaling | undefined {
  const required = (name: string): number => {
    reader.require(dict[name] !== undefined && dict[name] !== null, `${key} of type ${quote(type)} has no ${name}`);
    return positive(`${key}.${name}`, dict[name], 1);
  };
  switch (type) {
    case 'default':
      return undefined;
    case 'linear':
      return { kind: 'linear', factor: required('factor') };
    case 'llama3': {
      const scaling: RopeScaling = {
        kind: 'llama3',
        factor: required('factor'),
        lowFreqFactor: required('low_freq_factor'),
        highFreqFactor: required('high_freq_factor'),
        // transformers prefers a top-level original_max_position_embeddings, then the dict's.
        originalContext: positive(
          'original_max_position_embeddings',
          reader.raw('original_max_position_embeddings') ?? dict.original_max_position_embeddings,
          nCtx,
        ),
      };
      reader.require(
        scaling.highFreqFactor > scaling.lowFreqFactor,
        `${key}.high_freq_factor ${scaling.highFreqFactor} must exceed low_freq_factor ${scaling.lowFreqFactor}`,
      );
      return scaling;
    }
    default:
      reader.require(false, `${key} type ${quote(type)} is not supported; supported RoPE types: ${SUPPORTED_ROPE_TYPES.join(', ')}`);
      return undefined;
  }
}
