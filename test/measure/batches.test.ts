import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchInputIds, planBatches } from '../../src/measure/batches.js';
import type { Sequence } from '../../src/measure/sequences.js';

const sequence = (index: number, length: number): Sequence => ({
  index,
  ids: Array.from({ length }, (_, i) => 100 + i),
  tokens: [],
  truncated: false,
  appended: 0,
});

describe('planBatches', () => {
  it('sorts by length, fills batches up to the batch size, and keeps every sequence once', () => {
    const sequences = [3, 9, 1, 7, 5, 9, 2].map((length, index) => sequence(index, length));
    const batches = planBatches(sequences, { batchSize: 3, maxBatchTokens: 1000 });
    assert.deepEqual(
      batches.map((b) => b.members.map((m) => m.ids.length)),
      [[9, 9, 7], [5, 3, 2], [1]],
    );
    assert.deepEqual(
      batches.map((b) => b.length),
      [9, 5, 1],
    );
    assert.deepEqual(batches.flatMap((b) => b.members.map((m) => m.index)).sort(), [0, 1, 2, 3, 4, 5, 6]);
  });

  it('keeps batch × padded length within the token budget', () => {
    const sequences = [10, 10, 10, 10].map((length, index) => sequence(index, length));
    const batches = planBatches(sequences, { batchSize: 8, maxBatchTokens: 25 });
    assert.deepEqual(
      batches.map((b) => b.members.length),
      [2, 2],
    );
  });

  it('keeps batch × length² within the attention budget, so long prompts get small batches', () => {
    const sequences = [100, 100, 100, 10, 10, 10].map((length, index) => sequence(index, length));
    const batches = planBatches(sequences, { batchSize: 8, maxBatchTokens: 1e6, maxAttentionElements: 25_000 });
    assert.deepEqual(
      batches.map((b) => b.members.map((m) => m.ids.length)),
      [
        [100, 100],
        [100, 10],
        [10, 10],
      ],
    );
  });
});

describe('batchInputIds', () => {
  it('right-pads each row to the batch length', () => {
    const ids = batchInputIds({ members: [sequence(0, 3), sequence(1, 1)], length: 3 }, 0);
    assert.deepEqual(Array.from(ids, Number), [100, 101, 102, 100, 0, 0]);
  });
});
