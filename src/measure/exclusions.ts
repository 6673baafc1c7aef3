/**
 * Which tokens summaries and fits leave out, decided per token and stored with it: position 0
 * of every sequence (it can attend only to itself, so its norm is an outlier whatever the
 * token), every special token of the model (BOS, EOS, padding) wherever it occurs, and the EOS
 * tokens `--append-eos` adds (padding, drawn on their own). The reference analysis leaves out
 * BOS and padding the same way.
 */
import { UsageError } from '../errors.js';
import type { TextTokenizer } from '../models/tokenizer-files.js';
import { EXCLUSION_CODE } from '../store/result-tables.js';

export interface ExclusionRule {
  /** Leave out position 0 of every sequence. */
  firstPosition: boolean;
  /** Leave out these ids wherever they occur. */
  specialTokenIds: ReadonlySet<number>;
}

/** measure's rule, or none at all (`--no-exclusions`): position 0 and the model's special tokens. */
export function exclusionRule(enabled: boolean, spec: { specialTokenIds: readonly number[] }, tokenizer: TextTokenizer | undefined): ExclusionRule {
  return { firstPosition: enabled, specialTokenIds: new Set(enabled ? specialTokenIdsOf(spec, tokenizer) : []) };
}

/** What config.json and tokenizer_config.json name as BOS, EOS and padding, each id once, sorted. */
function specialTokenIdsOf(spec: { specialTokenIds: readonly number[] }, tokenizer: TextTokenizer | undefined): number[] {
  const ids = new Set(spec.specialTokenIds);
  for (const token of [tokenizer?.configuredBos, tokenizer?.configuredEos, tokenizer?.configuredPad]) {
    const id = token === undefined ? undefined : tokenizer?.tokenToId(token);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** The EOS id `--append-eos` appends: config.json's eos_token_id, else tokenizer_config.json's eos_token. */
export function resolveEosTokenId(spec: { eosTokenId: number | null }, tokenizer: TextTokenizer | undefined, modelId: string): number {
  if (spec.eosTokenId !== null) return spec.eosTokenId;
  const id = tokenizer?.configuredEos === undefined ? undefined : tokenizer.tokenToId(tokenizer.configuredEos);
  if (id === undefined)
    throw new UsageError(`--append-eos: ${modelId} names no EOS token (config.json eos_token_id, tokenizer_config.json eos_token); drop --append-eos`);
  return id;
}

/**
 * One exclusion code per position (EXCLUSION_CODE: 0 kept). The last `appended` positions are
 * appended EOS; position 0 counts as position 0 even when it is also a special token.
 */
export function exclusionCodes(ids: readonly number[], appended: number, rule: ExclusionRule): Uint8Array {
  const codes = new Uint8Array(ids.length);
  const firstAppended = ids.length - appended;
  for (let position = 0; position < ids.length; position += 1) {
    if (position >= firstAppended) codes[position] = EXCLUSION_CODE['appended EOS'];
    else if (position === 0 && rule.firstPosition) codes[position] = EXCLUSION_CODE['position 0'];
    else if (rule.specialTokenIds.has(ids[position]!)) codes[position] = EXCLUSION_CODE['special token'];
  }
  return codes;
}
