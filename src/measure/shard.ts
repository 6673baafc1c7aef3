/**
 * Sharding a run over machines: every shard plans the same batches from the whole prompt set
 * and runs every n-th batch, so shard files merge into exactly what one machine would have
 * computed (same batch compositions, same padding, same numbers).
 */
import { UsageError } from '../errors.js';
import type { Batch } from './batches.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Most shards a run may be split into (README: Numeric flags). */
export const MAX_SHARDS = 10_000;

export function parseShard(value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count || count > MAX_SHARDS) {
    throw new UsageError(`expected i/n with 1 ≤ i ≤ n ≤ ${MAX_SHARDS} (e.g. 2/8), got ${JSON.stringify(value)}`);
  }
  return { index, count };
}

/** The batches (with their plan positions) that shard i of n runs. */
export function batchesOfShard(batches: readonly Batch[], shard: Shard | undefined): Array<{ position: number; batch: Batch }> {
  return batches.map((batch, position) => ({ position, batch })).filter(({ position }) => shard === undefined || position % shard.count === shard.index - 1);
}
