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

/**
 * A float32 as a decimal of at most 9 significant digits: always enough to read back the exact
 * float32, about half the characters of the double's own representation, and one conversion
 * per value (a search for the shortest decimal costs twice as much and saves under a digit).
 */
export function compactFloat32(value: number): number {
  return Number(value.toPrecision(9));
}

export interface CollectContext {
  session: NormSession;
  outputs: readonly HookOutput[];
  hooks: readonly HookName[];
  nLayers: number;
  modelId: string;
}

function emptyResult(sequence: Sequence, hooks: readonly HookName[], nLayers: number): SequenceResult {
  const table = () => Object.fromEntries(hooks.map((hook) => [hook, Array.from({ length: nLayers }, () => [] as number[])]));
  return {
    ...(sequence.text !== undefined ? { text: sequence.text } : {}),
    ids: sequence.ids,
    tokens: sequence.tokens,
    norms: table(),
    rawNorms: table(),
    ...(sequence.truncated ? { truncated: true } : {}),
  };
}

/** Run one batch; returns each member's results in batch order. */
export async function collectBatch(batch: Batch, context: CollectContext): Promise<Array<{ sequence: Sequence; result: SequenceResult }>> {
  const { session, outputs, hooks, nLayers } = context;
  const values = await session.run(batchInputIds(batch), batch.members.length, batch.length, [...new Set(outputs.map((o) => o.name))]);
  return batch.members.map((sequence, row) => {
    const result = emptyResult(sequence, hooks, nLayers);
    const converted = new Map<string, number[]>(); // an output shared by two hooks is converted once
    for (const output of outputs) {
      const table = output.metric === 'raw' ? result.rawNorms : result.norms;
      const done = converted.get(output.name);
      if (done) {
        table[output.hook]![output.layer] = done.slice();
        continue;
      }
      const data = values.get(output.name)!;
      const start = row * batch.length;
      const norms: number[] = new Array(sequence.ids.length);
      for (let position = 0; position < sequence.ids.length; position += 1) {
        const value = data[start + position]!;
        if (!Number.isFinite(value)) {
          throw new NumericalError(
            `${context.modelId} produced ${value} at blocks.${output.layer}.hook_${output.hook} (${output.metric} norm), ` +
              `prompt ${sequence.index + 1}, position ${position}; the weights may overflow in this dtype`,
          );
        }
        norms[position] = compactFloat32(value);
      }
      converted.set(output.name, norms);
      table[output.hook]![output.layer] = norms;
    }
    return { sequence, result };
  });
}
