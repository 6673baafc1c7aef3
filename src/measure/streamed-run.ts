/**
 * A model run one block at a time (memory-plan.ts decides when): for each chunk of batches,
 * the embeddings of every batch, then block 0 on every batch, block 1 on every batch, … each
 * batch's residual stream held in memory and handed from block to block, and, with the logit
 * lens, the lens on every stream. Only the block being run exists as float32: its weights are
 * read from their files (readTensorValues, a slab at a time) into arrays reused from block to
 * block, and fed as inputs of one session per block structure (streamed-graphs.ts), so no
 * session ever makes a float32 copy of the model. A batch may run a few rows at a time when its
 * activations would not fit. What each run outputs goes to the caller, who packs it.
 *
 * The caller owns interruption: `stop()` is asked before each run and may throw (the chunk in
 * flight is then lost: its batches are run again on resume).
 */
import { createHash } from 'node:crypto';
import type { TransformerSpec } from '../architectures/types.js';
import type { ExternalDataLayout } from '../graph/external-data.js';
import {
  buildEmbeddingGraph,
  INPUT_IDS,
  LENS_NEXT_IDS,
  RESIDUAL_INPUT,
  RESIDUAL_OUTPUT,
  type StreamGraph,
  type WeightInput,
} from '../graph/streamed-graphs.js';
import { readTensorValues } from '../models/weight-index.js';
import type { Progress } from '../messages/reporter.js';
import type { SessionOptions } from '../runtime/onnx-session.js';
import { createTensorSession, type Feed, type TensorSession } from '../runtime/tensor-session.js';
import type { StreamedPlan } from './memory-plan.js';

export interface StreamedBatch {
  /** int64 [rows, length], right-padded. */
  ids: BigInt64Array;
  rows: number;
  length: number;
  /** Real (unpadded) tokens, for progress. */
  tokens: number;
  /** The lens's next ids, int64 [rows, length]. */
  nextIds?: BigInt64Array;
}

/** A run's outputs for rows [rowStart, rowStart + rows) of batch `batch` (plan index), each [rows, length, …]. */
export interface RunOutputs {
  batch: number;
  rowStart: number;
  rows: number;
  values: Map<string, Float32Array>;
}

export interface StreamedModel {
  spec: TransformerSpec;
  layout: ExternalDataLayout;
  /** Block `layer`'s graph (called once per layer). */
  blockGraph(layer: number): StreamGraph;
  /** Outputs a block run asks for besides resid_out (all of the graph's when absent). */
  blockOutputs?(layer: number): readonly string[];
  /** The lens graph, run on every stream, when the logit lens is computed. */
  lensGraph?: StreamGraph;
}

export interface StreamedCallbacks {
  block(layer: number, outputs: RunOutputs): void;
  /** The lens on stream `stream`: 0 the embeddings, l + 1 the stream after block l. */
  lens?(stream: number, outputs: RunOutputs): void;
  /** Feeds of a block run besides the stream and the weights (mechanisms' sample rows). */
  feeds?(layer: number, batch: number, rowStart: number, rows: number): Record<string, Feed>;
  /** Every block has run on the chunk's batches (plan indices): they are complete. */
  chunkDone(batches: readonly number[]): void | Promise<void>;
  /** Asked before every run: throws to stop (the chunk in flight is lost). */
  stop(chunk: readonly number[]): void;
}

/** Where a streamed run's time went. */
export interface StreamedStats {
  chunks: number;
  /** Seconds reading and converting block weights, and the float32 bytes they made. */
  weightSeconds: number;
  weightBytes: number;
  /** Seconds in ONNX Runtime's runs (embeddings, blocks, lens). */
  runSeconds: number;
}

export interface StreamedRunOptions {
  session: SessionOptions;
  progress?: Progress;
}

/** Reused float32 arrays, by length: a block's weights go where the previous block's were, without waiting for the garbage collector. */
export class WeightArrays {
  private readonly free = new Map<number, Float32Array[]>();

  take(length: number): Float32Array {
    return this.free.get(length)?.pop() ?? new Float32Array(length);
  }

  give(arrays: Iterable<Float32Array>): void {
    for (const array of arrays) {
      const list = this.free.get(array.length) ?? [];
      list.push(array);
      this.free.set(array.length, list);
    }
  }

  /** Drop arrays of lengths the next weights do not use (a block of another shape). */
  keepOnly(lengths: ReadonlySet<number>): void {
    for (const length of [...this.free.keys()]) if (!lengths.has(length)) this.free.delete(length);
  }
}

/** A graph's weight inputs read as float32 feeds, into `arrays` (reused from the previous block's where the lengths match). */
export async function readWeights(inputs: readonly WeightInput[], arrays: WeightArrays): Promise<Record<string, Feed>> {
  arrays.keepOnly(new Set(inputs.map(({ tensor }) => tensor.shape.reduce((a, b) => a * b, 1))));
  const feeds: Record<string, Feed> = {};
  for (const { input, tensor } of inputs) {
    const values = await readTensorValues(tensor, arrays.take(tensor.shape.reduce((a, b) => a * b, 1)));
    feeds[input] = { type: 'float32', data: values, dims: tensor.shape };
  }
  return feeds;
}

/** Give a block's weight arrays back for the next block. */
export function releaseWeights(feeds: Record<string, Feed>, arrays: WeightArrays): void {
  arrays.give(Object.values(feeds).flatMap((feed) => (feed.type === 'float32' ? [feed.data] : [])));
}

/** Sessions by graph bytes: blocks of one structure share one (and one arena). */
export class Sessions {
  private readonly byHash = new Map<string, Promise<TensorSession>>();

  constructor(
    private readonly folder: string,
    private readonly options: SessionOptions,
  ) {}

  get(bytes: Uint8Array): Promise<TensorSession> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    let session = this.byHash.get(hash);
    if (session === undefined) {
      session = createTensorSession(bytes, this.folder, { ...this.options, prepackWeights: false });
      this.byHash.set(hash, session);
    }
    return session;
  }

  async releaseAll(): Promise<void> {
    const sessions = await Promise.allSettled(this.byHash.values());
    this.byHash.clear();
    for (const session of sessions) if (session.status === 'fulfilled') await session.value.release();
  }
}

/** Rows [start, start + count) of a [rows, length, width] array. */
function rowsOf<T extends Float32Array | BigInt64Array>(values: T, batch: StreamedBatch, start: number, count: number, width: number): T {
  const stride = batch.length * width;
  return values.subarray(start * stride, (start + count) * stride) as T;
}

export async function runStreamed(
  model: StreamedModel,
  batches: readonly StreamedBatch[],
  plan: StreamedPlan,
  callbacks: StreamedCallbacks,
  options: StreamedRunOptions,
): Promise<StreamedStats> {
  const stats: StreamedStats = { chunks: 0, weightSeconds: 0, weightBytes: 0, runSeconds: 0 };
  const timedRead = async (inputs: readonly WeightInput[], arrays: WeightArrays) => {
    const startedAt = performance.now();
    const feeds = await readWeights(inputs, arrays);
    stats.weightSeconds += (performance.now() - startedAt) / 1000;
    stats.weightBytes += inputs.reduce((sum, { tensor }) => sum + 4 * tensor.shape.reduce((a, b) => a * b, 1), 0);
    return feeds;
  };
  const { spec } = model;
  const { nLayers, dModel } = spec.dims;
  const sessions = new Sessions(model.layout.folder, options.session);
  const graphs = new Map<number, StreamGraph>();
  const graphOf = (layer: number) => {
    let graph = graphs.get(layer);
    if (graph === undefined) graphs.set(layer, (graph = model.blockGraph(layer)));
    return graph;
  };
  const arrays = new WeightArrays();
  try {
    const embedding = buildEmbeddingGraph(spec, model.layout);
    const lens = model.lensGraph;
    const lensWeights = lens ? await timedRead(lens.weightInputs, new WeightArrays()) : undefined;
    for (const [index, chunk] of plan.chunks.entries()) {
      const note = (stage: string) => options.progress?.note?.(`chunk ${index + 1}/${plan.chunks.length}, ${stage}`);
      const streams = new Map<number, Float32Array>(chunk.map((b) => [b, new Float32Array(batches[b]!.rows * batches[b]!.length * dModel)]));

      /** Run `graph` over a batch a few rows at a time, writing resid_out back over the stream. */
      const runRows = async (
        graph: StreamGraph,
        b: number,
        rowsPerRun: number,
        feedsFor: (rowStart: number, rows: number) => Record<string, Feed>,
        outputs: readonly string[],
        handle: (outputs: RunOutputs) => void,
      ) => {
        const batch = batches[b]!;
        const stream = streams.get(b)!;
        const session = await sessions.get(graph.bytes);
        for (let rowStart = 0; rowStart < batch.rows; rowStart += rowsPerRun) {
          const rows = Math.min(rowsPerRun, batch.rows - rowStart);
          callbacks.stop(chunk);
          const startedAt = performance.now();
          const results = await session.run(feedsFor(rowStart, rows), outputs);
          stats.runSeconds += (performance.now() - startedAt) / 1000;
          const values = new Map<string, Float32Array>();
          for (const [name, { data }] of results) values.set(name, data);
          const residual = values.get(RESIDUAL_OUTPUT);
          if (residual !== undefined) {
            rowsOf(stream, batch, rowStart, rows, dModel).set(residual);
            values.delete(RESIDUAL_OUTPUT);
          }
          handle({ batch: b, rowStart, rows, values });
        }
      };
      const residualFeed = (b: number, rowStart: number, rows: number): Feed => ({
        type: 'float32',
        data: rowsOf(streams.get(b)!, batches[b]!, rowStart, rows, dModel),
        dims: [rows, batches[b]!.length, dModel],
      });
      const runLens = async (stream: number, b: number) => {
        if (!lens || !callbacks.lens) return;
        const batch = batches[b]!;
        await runRows(
          lens,
          b,
          plan.lensRows[b]!,
          (rowStart, rows) => ({
            ...lensWeights!,
            [RESIDUAL_INPUT]: residualFeed(b, rowStart, rows),
            [LENS_NEXT_IDS]: { type: 'int64', data: rowsOf(batch.nextIds!, batch, rowStart, rows, 1), dims: [rows, batch.length] },
          }),
          lens.outputNames,
          (outputs) => callbacks.lens!(stream, outputs),
        );
      };

      note('embeddings');
      for (const b of chunk) {
        const batch = batches[b]!;
        await runRows(
          embedding,
          b,
          batch.rows,
          (rowStart, rows) => ({ [INPUT_IDS]: { type: 'int64', data: rowsOf(batch.ids, batch, rowStart, rows, 1), dims: [rows, batch.length] } }),
          [RESIDUAL_OUTPUT],
          () => undefined,
        );
        await runLens(0, b);
      }
      for (let layer = 0; layer < nLayers; layer += 1) {
        note(`block ${layer + 1}/${nLayers}`);
        const graph = graphOf(layer);
        const outputs = model.blockOutputs?.(layer) ?? graph.outputNames;
        const weights = await timedRead(graph.weightInputs, arrays);
        try {
          for (const b of chunk) {
            await runRows(
              graph,
              b,
              plan.blockRows[b]!,
              (rowStart, rows) => ({ ...weights, [RESIDUAL_INPUT]: residualFeed(b, rowStart, rows), ...callbacks.feeds?.(layer, b, rowStart, rows) }),
              outputs,
              (run) => callbacks.block(layer, run),
            );
            await runLens(layer + 1, b);
            options.progress?.tick(batches[b]!.tokens);
          }
        } finally {
          releaseWeights(weights, arrays);
        }
      }
      await callbacks.chunkDone(chunk);
      stats.chunks += 1;
    }
  } finally {
    await sessions.releaseAll();
  }
  return stats;
}
