/** What a run's graph is fed, as its checkpoint key records it: a tokenizer change shows up here. */
import { createHash } from 'node:crypto';
import type { Sequence } from './sequences.js';

/** sha256 of every sequence's ids and decoded tokens, in prompt order. */
export function hashSequences(sequences: readonly Sequence[]): string {
  const hash = createHash('sha256');
  for (const sequence of sequences) {
    hash.update(Int32Array.from(sequence.ids));
    hash.update(JSON.stringify(sequence.tokens));
  }
  return hash.digest('hex');
}
