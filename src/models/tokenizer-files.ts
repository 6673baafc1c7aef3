/**
 * Loads a model's tokenizer with @huggingface/tokenizers from tokenizer.json (plus
 * tokenizer_config.json when present). Repos that ship only GPT-2-style vocab.json + merges.txt
 * get an equivalent byte-level BPE tokenizer.json assembled from those two files.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError, quote } from '../errors.js';
import { describeReadFailure, readRegularFile } from '../io/read-regular-file.js';
import { parseJson } from '../io/json-text.js';

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json'];

export interface TextTokenizer {
  /** ids and each token as text (as TransformerLens's to_str_tokens), no special tokens added. */
  encode(text: string): { ids: number[]; tokens: string[] };
  /** One token as text. */
  decodeToken(id: number): string;
  /** Ids of special tokens (BOS, EOS, padding…). */
  specialIds: Set<number>;
  tokenToId(token: string): number | undefined;
  /** The BOS, EOS and padding token strings named by tokenizer_config.json, if any. */
  configuredBos?: string | undefined;
  configuredEos?: string | undefined;
  configuredPad?: string | undefined;
}

/** A byte-level BPE tokenizer.json (GPT-2 style) from a vocabulary and merge list. */
export function assembleByteLevelBpe(vocab: Record<string, number>, merges: string[], specialTokens: Record<string, number>): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: Object.entries(specialTokens).map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

/** A tokenizer file's text, or undefined when the folder has no such file; anything else unreadable is refused. */
async function readTextIfPresent(path: string): Promise<string | undefined> {
  try {
    return (await readRegularFile(path)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelError(`cannot read ${quote(path)}: ${describeReadFailure(error)}; tokenizer files must be regular files`);
  }
}

/** A JSON object file, or undefined when absent; null, a string, a list… are refused. */
async function readJsonIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  const text = await readTextIfPresent(path);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = parseJson(text);
  } catch {
    throw new ModelError(`${quote(path)} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelError(`${quote(path)} is ${quote(value, 40)}, not a JSON object; fix or remove the file`);
  }
  return value as Record<string, unknown>;
}

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token'];

/** Token string of a tokenizer_config.json entry, which may be a string or {content}. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

async function readTokenizerJson(dir: string, config: Record<string, unknown>): Promise<object | undefined> {
  const json = await readJsonIfPresent(join(dir, 'tokenizer.json'));
  if (json) return json;
  const vocab = await readJsonIfPresent(join(dir, 'vocab.json'));
  const mergesText = await readTextIfPresent(join(dir, 'merges.txt'));
  if (!vocab || mergesText === undefined) return undefined;
  const merges = mergesText.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#version'));
  const special: Record<string, number> = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const content = tokenContent(config[key]);
    if (content !== undefined && typeof vocab[content] === 'number') special[content] = vocab[content] as number;
  }
  return assembleByteLevelBpe(vocab as Record<string, number>, merges, special);
}

/**
 * Tokenizers loaded in this process, by the identity of their files. GPT-2's takes about 0.3 s
 * to parse and build, and a run loads the same one more than once: the check before a download's
 * weights and the run itself, every member of a sweep (whose revisions share the cache's blobs).
 */
const loaded = new Map<string, Promise<TextTokenizer | undefined>>();
const LOADED_LIMIT = 4;

/** Which files the folder's tokenizer is made of: device, inode, size and times of each (links followed); undefined when one cannot be looked at. */
async function filesIdentity(dir: string): Promise<string | undefined> {
  const parts: string[] = [];
  for (const name of TOKENIZER_FILES) {
    try {
      const info = await stat(join(dir, name), { bigint: true });
      parts.push(`${name}:${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
      parts.push(`${name}:-`);
    }
  }
  return parts.join('|');
}

/** The tokenizer of a model folder, or undefined when it has none (token-id prompts only); the same files give the same tokenizer object. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer | undefined> {
  const identity = await filesIdentity(dir);
  if (identity === undefined) return readTokenizer(dir);
  const cached = loaded.get(identity);
  if (cached !== undefined) {
    loaded.delete(identity); // most recently used last
    loaded.set(identity, cached);
    return cached;
  }
  const loading = readTokenizer(dir);
  loaded.set(identity, loading);
  if (loaded.size > LOADED_LIMIT) loaded.delete(loaded.keys().next().value!);
  loading.catch(() => loaded.delete(identity)); // a refusal is not remembered: the next call explains it again
  return loading;
}

async function readTokenizer(dir: string): Promise<TextTokenizer | undefined> {
  const config = (await readJsonIfPresent(join(dir, 'tokenizer_config.json'))) ?? {};
  // Like transformers, take special tokens that tokenizer_config.json does not name from
  // special_tokens_map.json (older repos name them only there).
  const specialTokensMap = (await readJsonIfPresent(join(dir, 'special_tokens_map.json'))) ?? {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    if (tokenContent(config[key]) === undefined && tokenContent(specialTokensMap[key]) !== undefined) config[key] = specialTokensMap[key];
  }
  const json = await readTokenizerJson(dir, config);
  if (json === undefined) return undefined;
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (error) {
    throw new ModelError(`cannot load the tokenizer of ${quote(dir)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const decodeToken = (id: number) => tokenizer.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  const specialIds = new Set<number>();
  for (const [id, token] of tokenizer.get_added_tokens_decoder()) if (token.special) specialIds.add(id);
  return {
    encode: (text) => {
      const { ids } = tokenizer.encode(text, { add_special_tokens: false });
      return { ids, tokens: ids.map(decodeToken) };
    },
    decodeToken,
    specialIds,
    tokenToId: (token) => tokenizer.token_to_id(token),
    configuredBos: tokenContent(config.bos_token),
    configuredEos: tokenContent(config.eos_token),
    configuredPad: tokenContent(config.pad_token),
  };
}
