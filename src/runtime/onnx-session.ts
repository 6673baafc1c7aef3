/**
 * ONNX Runtime sessions (loaded through ./onnxruntime.ts; src/runtime/tensor-session.ts is the
 * only other user): one from in-memory graph bytes whose weights are external data inside the
 * safetensors files, which runs batches of token ids.
 */
import { ONNX_RUNTIME_DIR, ort, type InferenceSession, type Tensor } from './onnxruntime.js';
import { join } from 'node:path';
import { ModelError, UsageError, quote } from '../errors.js';
import { allocatedCpus } from './cpu-allocation.js';

import type { Device } from './devices.js';

export interface SessionOptions {
  device: Device;
  /** Intra-op threads; default: the CPUs this process may use (cpu-allocation.ts). */
  threads?: number;
  /** Bytes of the model's weights, which decide whether prepacking pays (see prepacks). */
  weightBytes?: number;
  /** Force ONNX Runtime's prepacking of GEMM weights on or off (the bench compares both). */
  prepackWeights?: boolean;
}

/**
 * Prepacking copies every GEMM weight into fresh memory at load, for GEMMs a few per cent
 * faster (2–7 % of a GPT-2 small run). Under 1 GB the copy costs a second or two; GPT2-XL's
 * 6 GB took 20–90 s of start-up on a 2-core VM, more than it saves before ~50,000 tokens.
 * Unpacked, the weights stay memory-mapped from the safetensors files.
 */
const PREPACK_LIMIT_BYTES = 1e9;

function prepacks(options: SessionOptions): boolean {
  return options.prepackWeights ?? (options.weightBytes ?? 0) < PREPACK_LIMIT_BYTES;
}

export interface NormSession {
  threads: number;
  device: Device;
  /**
   * Run one batch: ids int64 [batch, pos] → each requested output as float [batch, pos, …].
   * nextIds int64 [batch, pos]: the logit lens's second input (graphs that read it only).
   */
  /** nextIds: the lens's next_ids [batch, pos]; sequenceLengths: [batch], for per-sequence diagnostics. */
  run(
    ids: BigInt64Array,
    batch: number,
    pos: number,
    outputNames: readonly string[],
    nextIds?: BigInt64Array,
    sequenceLengths?: BigInt64Array,
  ): Promise<Map<string, Float32Array>>;
  release(): Promise<void>;
}

export function defaultThreads(): number {
  return allocatedCpus(process.env).count;
}

export function onnxRuntimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common ?? 'unknown';
}

// ONNX Runtime reports failures to us as exceptions; its own log (e.g. a missing CUDA
// library) would only print a second, raw copy of the same problem on stderr.
ort.env.logLevel = 'fatal';

/** The session options every graph of the tool is run with (weights as external data in `externalDataFolder`). */
function sessionOptionsFor(externalDataFolder: string, options: SessionOptions): InferenceSession.SessionOptions {
  return {
    executionProviders: [options.device],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: options.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    // The memory-pattern planner keeps every hook's intermediates in one block (+290 MB on
    // GPT-2 small with all hooks); the arena alone is as fast here and far leaner.
    enableMemPattern: false,
    logSeverityLevel: 4, // errors reach us as exceptions; keep ONNX Runtime's own log quiet
    extra: {
      session: {
        model_external_initializers_file_folder_path: externalDataFolder,
        ...(prepacks(options) ? {} : { disable_prepacking: '1' }),
      },
    },
  };
}

/** An ONNX Runtime session over a graph with this project's options; a graph it cannot load is explained in one line. */
export async function openSession(graph: Uint8Array, externalDataFolder: string, options: SessionOptions): Promise<InferenceSession> {
  try {
    return await ort.InferenceSession.create(graph, sessionOptionsFor(externalDataFolder, options));
  } catch (error) {
    throw explainSessionError(error, options.device);
  }
}

export async function createNormSession(graph: Uint8Array, externalDataFolder: string, options: SessionOptions): Promise<NormSession> {
  const threads = options.threads ?? defaultThreads();
  const session = await openSession(graph, externalDataFolder, options);
  return {
    threads,
    device: options.device,
    async run(ids, batch, pos, outputNames, nextIds, sequenceLengths) {
      const feeds: Record<string, Tensor> = { input_ids: new ort.Tensor('int64', ids, [batch, pos]) };
      if (nextIds !== undefined) feeds.next_ids = new ort.Tensor('int64', nextIds, [batch, pos]);
      if (sequenceLengths !== undefined) feeds.sequence_lengths = new ort.Tensor('int64', sequenceLengths, [batch]);
      const results = await session.run(feeds, [...outputNames]);
      const out = new Map<string, Float32Array>();
      for (const name of outputNames) out.set(name, results[name]!.data as Float32Array);
      return out;
    },
    release: () => session.release(),
  };
}

function explainSessionError(error: unknown, device: Device): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (device === 'cuda' && /cuda|provider/i.test(message)) {
    return new UsageError(
      `--device cuda: ONNX Runtime's CUDA execution provider is not available here (${firstLine(message)}); ` +
        `on a machine with CUDA 12, fetch its files once with \`ONNXRUNTIME_NODE_INSTALL=cuda12 node ${JSON.stringify(join(ONNX_RUNTIME_DIR ?? '.', 'script', 'install.js'))}\`, or use --device cpu`,
    );
  }
  return new ModelError(`ONNX Runtime could not load the model graph: ${quote(firstLine(message), 200)}`);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
