/**
 * Runs planned batches through a session and turns the [batch, pos] outputs into per-sequence
 * tables [layer][position], leaving padded positions out. Non-finite values (e.g. fp16
 * overflow) stop the run with a message naming the hook, layer and prompt.
 */
import { NumericalError } from '../errors.js';
import type { HookOutput } from '../graph/transformer-graph.js';
import type { HookName, SequenceResult } from '../results/schema.js';
import type { NormSession } from '../runtime/onnx-session.js';
import { batchInputIds, type Batch } from './batches.js';
import type { Sequence } from './sequences.js';

/** Powers of ten 1e-20 … 1e19, exact up to 1e22 as doubles. */
const POWERS_OF_TEN = Array.from({ length: 40 }, (_, i) => 10 ** (i - 20));

/**
 * A float32 as a decimal of 9 significant digits: always enough to read back the exact float32,
 * about half the characters of the double's own representation. Scaling to a 9-digit integer
 * and back costs a fifth of toPrecision(9); the read-back check catches any rounding slip.
 */
export function compactFloat32(value: number): number {
  if (value > 1e-12 && value < 1e12) {
    const scale = 8 - Math.floor(Math.log10(value));
    const digits = Math.round(value * POWERS_OF_TEN[scale + 20]!);
    const candidate = digits / POWERS_OF_TEN[scale + 20]!; // an exact integer over a power of ten: correctly rounded
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(9));
}

export interface CollectContext {
  session: NormSession;
  /** Every (layer, hook, metric) measured, and the graph output carrying it. */
  outputs: readonly HookOutput[];
  /** The graph's distinct outputs, in the order packed norms store them. */
  outputNames: readonly string[];
  hooks: readonly HookName[];
  nLayers: number;
  modelId: string;
}

/**
 * One sequence's norms as the graph gave them: float32 [output][position], outputs in
 * `outputNames` order. Compact in memory and in checkpoints; turned into a results-file
 * sequence (decimal numbers, per hook and layer) once, by `unpackNorms`.
 */
export interface PackedNorms {
  sequence: Sequence;
  values: Float32Array;
}

/** Run one batch; returns each member's packed norms, padding left out. */
export async function collectBatch(batch: Batch, context: CollectContext): Promise<PackedNorms[]> {
  const { session, outputNames } = context;
  const values = await session.run(batchInputIds(batch), batch.members.length, batch.length, outputNames);
  return batch.members.map((sequence, row) => {
    const length = sequence.ids.length;
    const packed = new Float32Array(outputNames.length * length);
    outputNames.forEach((name, k) => {
      const data = values.get(name)!.subarray(row * batch.length, row * batch.length + length);
      const bad = data.findIndex((value) => !Number.isFinite(value));
      if (bad >= 0) throw nonFinite(context, name, data[bad]!, sequence, bad);
      packed.set(data, k * length);
    });
    return { sequence, values: packed };
  });
}

function nonFinite(context: CollectContext, name: string, value: number, sequence: Sequence, position: number): NumericalError {
  const output = context.outputs.find((o) => o.name === name)!;
  return new NumericalError(
    `${context.modelId} produced ${value} at blocks.${output.layer}.hook_${output.hook} (${output.metric} norm), ` +
      `prompt ${sequence.index + 1}, position ${position}; the weights may overflow in this dtype`,
  );
}

/** A results-file sequence from packed norms: [layer][position] per hook, raw and centered. */
export function unpackNorms(packed: PackedNorms, context: Pick<CollectContext, 'outputs' | 'outputNames' | 'hooks' | 'nLayers'>): SequenceResult {
  const { sequence, values } = packed;
  const length = sequence.ids.length;
  const table = () => Object.fromEntries(context.hooks.map((hook) => [hook, Array.from({ length: context.nLayers }, () => [] as number[])]));
  const result: SequenceResult = {
    ...(sequence.text !== undefined ? { text: sequence.text } : {}),
    ids: sequence.ids,
    tokens: sequence.tokens,
    norms: table(),
    rawNorms: table(),
    ...(sequence.truncated ? { truncated: true } : {}),
  };
  const converted = new Map<string, number[]>(); // an output shared by two hooks is converted once
  const slot = new Map(context.outputNames.map((name, k) => [name, k]));
  for (const output of context.outputs) {
    let row = converted.get(output.name);
    if (row === undefined) {
      const start = slot.get(output.name)! * length;
      row = Array.from(values.subarray(start, start + length), compactFloat32);
      converted.set(output.name, row);
    }
    (output.metric === 'raw' ? result.rawNorms : result.norms)[output.hook]![output.layer] = row.slice();
  }
  return result;
}
