/**
 * Prompts → token sequences: tokenize text (no special tokens added by the tokenizer), prepend
 * BOS as TransformerLens does, keep pre-tokenized ids exactly as given, truncate to the token
 * limit, and refuse prompts that would leave nothing to measure.
 */
import { InputError, ModelError, ProblemList, UsageError, quote } from '../errors.js';
import type { TextTokenizer } from '../models/tokenizer-files.js';
import type { Prompt } from '../prompts-sources/prompt-file.js';
import { resolveEosTokenId } from './exclusions.js';
import { encodeBounded } from './encode-bounded.js';
import { encodeOffThread, type Encoded } from './tokenize-off-thread.js';

export interface Sequence {
  /** Index of the prompt in the prompt file (results keep this order). */
  index: number;
  text?: string;
  ids: number[];
  tokens: string[];
  truncated: boolean;
  /** EOS tokens appended at the end (`--append-eos`), included in ids and tokens. */
  appended: number;
}

export interface SequenceOptions {
  prependBos: boolean;
  bosTokenId: number | null;
  /** Longest sequence measured, BOS and appended EOS included (≤ the model's context length). */
  maxTokens: number;
  dVocab: number;
  /** Append `count` copies of EOS `id` to every sequence (after truncation, within maxTokens). */
  appendEos?: { id: number; count: number };
}

/** Refuse a token id the graph's embedding cannot look up (ModelError: the model's files disagree). */
function checkModelId(id: number, dVocab: number, what: string): void {
  if (!Number.isSafeInteger(id) || id < 0 || id >= dVocab) {
    throw new ModelError(
      `${what} is token id ${id}, outside the model's vocabulary (config.json vocab_size ${dVocab}: valid ids 0…${dVocab - 1}); the tokenizer or config does not belong to this model`,
    );
  }
}

/** The token budget of a text prompt's own tokens: what --max-tokens leaves after appended EOS and a prepended BOS. */
function textBudget(options: SequenceOptions): number {
  const appended = options.appendEos?.count ?? 0;
  const bos = options.prependBos && options.bosTokenId !== null ? 1 : 0;
  return options.maxTokens - appended - bos;
}

/**
 * Prompts → sequences. `encoded` holds the encodings of the text prompts, by prompt index, when
 * they were made off the main thread (./tokenize-off-thread.ts); without it they are made here.
 */
export function tokenizePrompts(
  prompts: readonly Prompt[],
  tokenizer: TextTokenizer | undefined,
  options: SequenceOptions,
  encoded?: ReadonlyMap<number, Encoded>,
): Sequence[] {
  const problems = new ProblemList();
  const prependsBos = options.prependBos && options.bosTokenId !== null && prompts.some((prompt) => prompt.ids === undefined);
  if (prependsBos)
    checkModelId(
      options.bosTokenId!,
      options.dVocab,
      'the BOS token prepended to text prompts (config.json bos_token_id, else tokenizer_config.json bos_token)',
    );
  const appended = options.appendEos?.count ?? 0;
  if (options.appendEos && appended > 0)
    checkModelId(options.appendEos.id, options.dVocab, 'the EOS token --append-eos appends (config.json eos_token_id, else tokenizer_config.json eos_token)');
  const budget = options.maxTokens - appended; // room for the prompt's own tokens
  const sequences: Sequence[] = [];
  prompts.forEach((prompt, index) => {
    const where = `prompt ${index + 1} (line ${prompt.line})`;
    let ids: number[];
    let tokens: string[];
    let cutText = prompt.text;
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
      const encoding = encoded?.get(index) ?? encodeBounded(tokenizer, prompt.text ?? '', textBudget(options));
      if (encoding.ids.length === 0 || encoding.ids.every((id) => tokenizer.specialIds.has(id))) {
        problems.add(`${where} ${quote(prompt.text, 40)} has no ordinary tokens, only special ones or none; nothing to measure`);
        return;
      }
      const outside = encoding.ids.find((id) => !(id >= 0 && id < options.dVocab));
      if (outside !== undefined) checkModelId(outside, options.dVocab, `tokenizer.json's encoding of ${where}`);
      cutText = encoding.text;
      ids = options.prependBos && options.bosTokenId !== null ? [options.bosTokenId, ...encoding.ids] : encoding.ids;
      tokens = options.prependBos && options.bosTokenId !== null ? [tokenizer.decodeToken(options.bosTokenId), ...encoding.tokens] : encoding.tokens;
    }
    const truncated = ids.length > budget || cutText !== prompt.text;
    // Copied only when cut or extended: a million-token prompt set is not held twice.
    ids = truncated ? ids.slice(0, budget) : ids;
    tokens = tokens.length > budget ? tokens.slice(0, budget) : tokens;
    if (options.appendEos && appended > 0) {
      const { id } = options.appendEos;
      ids = [...ids, ...new Array<number>(appended).fill(id)];
      if (tokenizer) tokens = [...tokens, ...new Array<string>(appended).fill(tokenizer.decodeToken(id))];
    }
    sequences.push({ index, ...(cutText !== undefined ? { text: cutText } : {}), ids, tokens, truncated, appended });
  });
  problems.throwIfAny((message) => new InputError(message));
  return sequences;
}

/** What tokenizing needs to know of the model: its name for messages, sizes and special token ids (config.json's). */
export interface TokenizedModel {
  id: string;
  nCtx: number;
  dVocab: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

export interface TokenizedPrompts {
  maxTokens: number;
  bosTokenId: number | null;
  appendEos: number;
  sequences: Sequence[];
}

/** Where the text prompts are tokenized off the main thread: the model folder whose tokenizer the worker loads. */
export interface OffThreadTokenizing {
  dir: string;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/**
 * The flags that shape the sequences (--max-tokens, --no-prepend-bos, --append-eos), checked
 * against the model, then the prompts tokenized: in a worker thread with a deadline per prompt
 * when `offThread` names the model folder (every command does), else here.
 */
export async function tokenizeForModel(
  prompts: readonly Prompt[],
  tokenizer: TextTokenizer | undefined,
  model: TokenizedModel,
  request: { maxTokens?: number; prependBos: boolean; appendEos?: number },
  offThread?: OffThreadTokenizing,
): Promise<TokenizedPrompts> {
  const { nCtx } = model;
  const maxTokens = request.maxTokens ?? nCtx;
  if (maxTokens > nCtx) throw new UsageError(`--max-tokens ${maxTokens} exceeds the context length of ${model.id} (${nCtx}); valid: 1…${nCtx}`);
  const bosTokenId = resolveBosTokenId(model.bosTokenId, tokenizer);
  if (request.prependBos && bosTokenId === null && prompts.some((prompt) => prompt.text !== undefined)) {
    throw new UsageError(`${model.id} names no BOS token (config.json bos_token_id); use --no-prepend-bos`);
  }
  const appendEos = request.appendEos ?? 0;
  const room = maxTokens - (request.prependBos && bosTokenId !== null ? 1 : 0);
  if (appendEos > 0 && appendEos >= room)
    throw new UsageError(
      `--append-eos ${appendEos} leaves no room for the prompts in ${maxTokens} tokens${room < maxTokens ? ' (BOS included)' : ''}; valid: 0…${Math.max(0, room - 1)}, or raise --max-tokens`,
    );
  const eos = appendEos > 0 ? { id: resolveEosTokenId(model, tokenizer, model.id), count: appendEos } : undefined;
  const options: SequenceOptions = { prependBos: request.prependBos, bosTokenId, maxTokens, dVocab: model.dVocab, ...(eos ? { appendEos: eos } : {}) };
  let encoded: Map<number, Encoded> | undefined;
  if (offThread !== undefined && tokenizer !== undefined) {
    const texts = prompts.flatMap((prompt, index) => (prompt.ids === undefined ? [{ index, text: prompt.text ?? '', line: prompt.line }] : []));
    const encodings = await encodeOffThread(
      offThread.dir,
      texts.map(({ text }) => text),
      textBudget(options),
      {
        ...(offThread.signal ? { signal: offThread.signal } : {}),
        ...(offThread.env ? { env: offThread.env } : {}),
        describe: (i) => `prompt ${texts[i]!.index + 1} (line ${texts[i]!.line})`,
      },
    );
    encoded = new Map(texts.map(({ index }, i) => [index, encodings[i]!]));
  }
  const sequences = tokenizePrompts(prompts, tokenizer, options, encoded);
  return { maxTokens, bosTokenId, appendEos, sequences };
}

/** The BOS id to prepend: config.json's bos_token_id, else the tokenizer's configured BOS token. */
export function resolveBosTokenId(configBos: number | null, tokenizer: TextTokenizer | undefined): number | null {
  if (configBos !== null) return configBos;
  if (tokenizer?.configuredBos !== undefined) return tokenizer.tokenToId(tokenizer.configuredBos) ?? null;
  return null;
}
