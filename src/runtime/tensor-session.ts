/**
 * A session over a graph with named float32 / int64 inputs (the analysis graphs of
 * `mechanisms` and `weights`: random or sampled vectors in, per-sample numbers out). Same
 * options as the measuring session (onnx-session.ts); only the feeds differ.
 */
import { ort, type Tensor } from './onnxruntime.js';
import { defaultThreads, openSession, type SessionOptions } from './onnx-session.js';

export type Feed = { type: 'float32'; data: Float32Array; dims: readonly number[] } | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

export interface TensorSession {
  threads: number;
  /** Run with the given feeds; every requested output comes back as float32 values (row-major) with its dims. */
  run(feeds: Record<string, Feed>, outputNames: readonly string[]): Promise<Map<string, { data: Float32Array; dims: readonly number[] }>>;
  release(): Promise<void>;
}

export async function createTensorSession(graph: Uint8Array, externalDataFolder: string, options: SessionOptions): Promise<TensorSession> {
  const session = await openSession(graph, externalDataFolder, options);
  return {
    threads: options.threads ?? defaultThreads(),
    async run(feeds, outputNames) {
      const tensors: Record<string, Tensor> = {};
      for (const [name, feed] of Object.entries(feeds)) {
        tensors[name] = feed.type === 'float32' ? new ort.Tensor('float32', feed.data, [...feed.dims]) : new ort.Tensor('int64', feed.data, [...feed.dims]);
      }
      const results = await session.run(tensors, [...outputNames]);
      const out = new Map<string, { data: Float32Array; dims: readonly number[] }>();
      for (const name of outputNames) out.set(name, { data: results[name]!.data as Float32Array, dims: results[name]!.dims });
      return out;
    },
    release: () => session.release(),
  };
}
