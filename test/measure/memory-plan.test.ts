/** The memory plan (src/measure/memory-plan.ts): whole graph, block by block, or refused, and how chunks and rows follow the budget. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BudgetTooSmallError,
  CHUNK_TOKENS,
  minimumStreamedBytes,
  planExecution,
  wholeGraphBytes,
  type MemoryModel,
  type PlannedShape,
} from '../../src/measure/memory-plan.js';

/** Llama-3-8B's shape, as the plan sees it. */
const MODEL: MemoryModel = {
  dims: { nLayers: 32, dModel: 4096, nHeads: 32, nKvHeads: 8, dHead: 128, dMlp: 14336, dVocab: 128256, nCtx: 8192 },
  gatedMlp: true,
  blockWeightBytes: new Array<number>(32).fill(872e6),
  lensWeightBytes: 0,
  diagnostics: false,
  floatsPerToken: 320,
  totalTokens: 16384,
  largestTensorBytes: 117e6,
};
const batches = (count: number, rows: number, length: number): PlannedShape[] => Array.from({ length: count }, () => ({ rows, length }));

describe('the memory plan', () => {
  it('runs the whole graph when its float32 weights and a batch fit, else block by block', () => {
    const plan = batches(16, 8, 128);
    const whole = wholeGraphBytes(MODEL, plan);
    assert.ok(whole > 28e9 && whole < 30e9, `8B whole graph ${whole}`);
    assert.equal(planExecution(MODEL, plan, 64e9, '--max-memory').kind, 'whole');
    const streamed = planExecution(MODEL, plan, 4e9, '--max-memory');
    assert.equal(streamed.kind, 'streamed');
    if (streamed.kind !== 'streamed') return;
    assert.ok(streamed.bytes <= 4e9, `the plan's peak ${streamed.bytes} stays under the budget`);
    assert.deepEqual(streamed.blockRows, new Array<number>(16).fill(8), 'whole batches when they fit');
    assert.equal(streamed.chunks.length, Math.ceil((16 * 8 * 128) / CHUNK_TOKENS), 'chunks of at most CHUNK_TOKENS tokens');
    assert.deepEqual(
      streamed.chunks.flat(),
      plan.map((_, index) => index),
      'every batch once, in order',
    );
  });

  it('splits batches into rows, and chunks into fewer batches, as the budget shrinks; refuses below the minimum, naming it', () => {
    const plan = batches(12, 8, 512);
    const minimum = minimumStreamedBytes(MODEL, plan);
    let lastRows = Infinity;
    let lastChunks = 0;
    for (const budget of [8e9, 4e9, 2e9, minimum]) {
      const streamed = planExecution(MODEL, plan, budget, '--max-memory');
      assert.equal(streamed.kind, 'streamed');
      if (streamed.kind !== 'streamed') return;
      assert.ok(streamed.bytes <= budget, `${budget}: peak ${streamed.bytes}`);
      const rows = Math.max(...streamed.blockRows);
      assert.ok(rows <= lastRows, `${budget}: rows ${rows} after ${lastRows}`);
      assert.ok(streamed.chunks.length >= lastChunks);
      [lastRows, lastChunks] = [rows, streamed.chunks.length];
    }
    assert.equal(lastRows, 1, 'at the minimum, one row at a time');
    assert.throws(
      () => planExecution(MODEL, plan, minimum - 1, 'RESID_NORMS_MAX_MEMORY'),
      (error: unknown) => {
        assert.ok(error instanceof BudgetTooSmallError);
        assert.match(
          error.message,
          /^RESID_NORMS_MAX_MEMORY \(\S+ GB\) is too small for this model: one block's float32 weights \(872 MB\), the largest batch's stream and one 512-token sequence's activations need at least (\S+) GB with the process itself; give --max-memory \1GB or more \(a smaller --batch-size or --max-tokens needs less\)$/,
        );
        return true;
      },
    );
  });

  it("counts the lens's unembedding and activations when the lens runs", () => {
    const plan = batches(4, 2, 128);
    const lens = { ...MODEL, lensWeightBytes: 2.1e9 };
    assert.ok(minimumStreamedBytes(lens, plan) > minimumStreamedBytes(MODEL, plan) + 2.1e9);
    assert.throws(() => planExecution(lens, plan, 2e9, '--max-memory'), /the logit lens's final norm and unembedding \(2\.1 GB\)/);
    const streamed = planExecution(lens, plan, 4e9, '--max-memory');
    assert.ok(streamed.kind === 'streamed' && streamed.bytes <= 4e9);
  });
});
