/**
 * Batching: sequences sorted by length (so padding is small), grouped up to the batch size and
 * a token budget, right-padded. Causal attention means real tokens never see the padding that
 * follows them, so no attention mask or position shift is needed, and padded positions are
 * never read back.
 */
import type { Sequence } from './sequences.js';

export interface Batch {
  /** Sequences in this batch, in row order. */
  members: Sequence[];
  /** Padded length = longest member. */
  length: number;
}

export interface BatchPlanOptions {
  batchSize: number;
  /** Upper bound on batch × padded length, so long prompts don't make huge batches. */
  maxBatchTokens: number;
  /**
   * Upper bound on batch × length² × attention heads: the attention scores and pattern are
   * [batch, heads, pos, pos] each, so long prompts need smaller batches.
   */
  maxAttentionElements?: number;
}

/** Upper bound on batch × padded length. */
const MAX_BATCH_TOKENS = 16384;
/** Attention scores and pattern of one layer stay under 2 × 256 MB of float32. */
const MAX_ATTENTION_BYTES = 256 * 1024 * 1024;

/**
 * With the logit lens, one stream's logits [batch tokens, dVocab] float32 stay under this (a
 * longer sequence gets a batch of its own): 667 tokens of GPT-2's 50,257-token vocabulary.
 */
const MAX_LENS_LOGITS_BYTES = 128 * 1024 * 1024;

/**
 * The token and attention budgets of a model's batches (measure's and mechanisms'); one prompt of
 * maxTokens always fits. `lensVocab`: the vocabulary size when the logit lens is computed.
 */
export function batchBudgets(
  nHeads: number,
  maxTokens: number,
  lensVocab?: number,
): Required<Pick<BatchPlanOptions, 'maxBatchTokens' | 'maxAttentionElements'>> {
  return {
    maxBatchTokens:
      lensVocab === undefined
        ? Math.max(MAX_BATCH_TOKENS, maxTokens)
        : Math.max(1, Math.min(MAX_BATCH_TOKENS, Math.floor(MAX_LENS_LOGITS_BYTES / 4 / lensVocab))),
    maxAttentionElements: Math.max(MAX_ATTENTION_BYTES / 4 / nHeads, maxTokens * maxTokens),
  };
}

export function planBatches(sequences: readonly Sequence[], { batchSize, maxBatchTokens, maxAttentionElements = Infinity }: BatchPlanOptions): Batch[] {
  // Longest first: the most memory-hungry batch runs first, so a failure shows early.
  const sorted = [...sequences].sort((a, b) => b.ids.length - a.ids.length || a.index - b.index);
  const batches: Batch[] = [];
  let current: Sequence[] = [];
  for (const sequence of sorted) {
    const length = current[0]?.ids.length ?? sequence.ids.length;
    const fits = (rows: number) => rows <= batchSize && rows * length <= maxBatchTokens && rows * length * length <= maxAttentionElements;
    if (current.length > 0 && !fits(current.length + 1)) {
      batches.push({ members: current, length: current[0]!.ids.length });
      current = [];
    }
    current.push(sequence);
  }
  if (current.length > 0) batches.push({ members: current, length: current[0]!.ids.length });
  return batches;
}

/** Real (unpadded) tokens in a batch. */
export function tokenCount(batch: Batch): number {
  return batch.members.reduce((sum, member) => sum + member.ids.length, 0);
}

/**
 * The logit lens's next_ids, int64 [batch, length]: at each position the id of the token after
 * it in its sequence, −1 at the last token and in the padding.
 */
export function batchNextIds(batch: Batch): BigInt64Array {
  const next = new BigInt64Array(batch.members.length * batch.length).fill(-1n);
  batch.members.forEach((member, row) => {
    for (let position = 0; position + 1 < member.ids.length; position += 1) next[row * batch.length + position] = BigInt(member.ids[position + 1]!);
  });
  return next;
}

/** int64 [batch, length], right-padded with `padId`. */
export function batchInputIds(batch: Batch, padId = 0): BigInt64Array {
  const ids = new BigInt64Array(batch.members.length * batch.length).fill(BigInt(padId));
  batch.members.forEach((member, row) => {
    member.ids.forEach((id, position) => (ids[row * batch.length + position] = BigInt(id)));
  });
  return ids;
}
