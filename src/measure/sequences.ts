/**
 * Prompts → token sequences: tokenize text (no special tokens added by the tokenizer), prepend
 * BOS as TransformerLens does, keep pre-tokenized ids exactly as given, truncate to the token
 * limit, and refuse prompts that would leave nothing to measure.
 */
import { InputError, ProblemList, quote } from '../errors.js';
import type { TextTokenizer } from '../models/tokenizer-files.js';
import type { Prompt } from './prompts.js';

export interface Sequence {
  /** Index of the prompt in the prompt file (results keep this order). */
  index: number;
  text?: string;
  ids: number[];
  tokens: string[];
  truncated: boolean;
}

export interface SequenceOptions {
  prependBos: boolean;
  bosTokenId: number | null;
  /** Longest sequence measured, BOS included (≤ the model's context length). */
  maxTokens: number;
  dVocab: number;
}

export function tokenizePrompts(prompts: readonly Prompt[], tokenizer: TextTokenizer | undefined, options: SequenceOptions): Sequence[] {
  const problems = new ProblemList();
  const sequences: Sequence[] = [];
  prompts.forEach((prompt, index) => {
    const where = `prompt ${index + 1} (line ${prompt.line})`;
    let ids: number[];
    let tokens: string[];
    if (prompt.ids !== undefined) {
      ids = prompt.ids;
      const outOfRange = ids.find((id) => id >= options.dVocab);
      if (outOfRange !== undefined) {
        problems.add(`${where} has token id ${outOfRange}; valid ids are 0…${options.dVocab - 1}`);
        return;
      }
      tokens = tokenizer ? ids.map((id) => tokenizer.decodeToken(id)) : [];
    } else {
      if (tokenizer === undefined) {
        problems.add(`${where} is text but the model has no tokenizer.json; give token ids as JSONL ({"ids": [...]})`);
        return;
      }
      const encoded = tokenizer.encode(prompt.text ?? '');
      if (encoded.ids.length === 0 || encoded.ids.every((id) => tokenizer.specialIds.has(id))) {
        problems.add(`${where} ${quote(prompt.text, 40)} has no ordinary tokens, only special ones or none; nothing to measure`);
        return;
      }
      ids = options.prependBos && options.bosTokenId !== null ? [options.bosTokenId, ...encoded.ids] : encoded.ids;
      tokens = options.prependBos && options.bosTokenId !== null ? [tokenizer.decodeToken(options.bosTokenId), ...encoded.tokens] : encoded.tokens;
    }
    const truncated = ids.length > options.maxTokens;
    sequences.push({
      index,
      ...(prompt.text !== undefined ? { text: prompt.text } : {}),
      ids: ids.slice(0, options.maxTokens),
      tokens: tokens.slice(0, options.maxTokens),
      truncated,
    });
  });
  problems.throwIfAny((message) => new InputError(message));
  return sequences;
}

/** The BOS id to prepend: config.json's bos_token_id, else the tokenizer's configured BOS token. */
export function resolveBosTokenId(configBos: number | null, tokenizer: TextTokenizer | undefined): number | null {
  if (configBos !== null) return configBos;
  if (tokenizer?.configuredBos !== undefined) return tokenizer.tokenToId(tokenizer.configuredBos) ?? null;
  return null;
}
