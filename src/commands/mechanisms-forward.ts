/**
 * The real-prompt pass of `mechanisms`: batches through the forward graph
 * (src/graph/mechanism-forward-graph.ts), summing per layer and prompt over included tokens the
 * activation rate and the attn_out / mlp_out norms (their means over every included token, with
 * the prompts' cluster-robust error: src/analysis/token-errors.ts), and keeping the MLP inputs
 * of the sampled tokens and the prompt each comes from.
 */
import { allTokensMean, type TokenMean } from '../analysis/token-errors.js';
import type { TransformerSpec } from '../architectures/types.js';
import type { Progress } from '../reporting/reporter.js';
import { NumericalError } from '../errors.js';
import { forwardOutputName, SAMPLE_ROWS } from '../graph/mechanism-forward-graph.js';
import { INPUT_IDS } from '../graph/transformer-graph.js';
import { stopIfInterrupted } from '../io/interrupt.js';
import { batchInputIds, type Batch } from '../measure/batches.js';
import type { Sequence } from '../measure/sequences.js';
import type { TensorSession } from '../runtime/tensor-session.js';

export interface ForwardTotals {
  /** Included tokens (every layer counts the same ones). */
  included: number;
  /** [layer] means over every included token (stderr 0), with the prompts' cluster-robust error. */
  activationRate: TokenMean[];
  attnOut: TokenMean[];
  mlpOut: TokenMean[];
  /** [layer] the MLP inputs of the sampled tokens, [samples, dModel] in sample order. */
  samples: Float32Array[];
  /** The prompt (its index in the prompt file) of each sampled token, in sample order. */
  samplePrompts: Int32Array;
}

/** Where each sampled token's row goes: sampleSlot.get(sequence index)?.get(position) = its rank among the samples. */
export type SampleSlots = Map<number, Map<number, number>>;

export async function runForward(
  session: TensorSession,
  spec: TransformerSpec,
  batches: readonly Batch[],
  included: (sequence: Sequence, position: number) => boolean,
  slots: SampleSlots,
  sampleCount: number,
  progress: Progress,
  signal?: AbortSignal,
): Promise<ForwardTotals> {
  const { nLayers, dModel } = spec.dims;
  const prompts = 1 + batches.reduce((most, batch) => batch.members.reduce((inner, member) => Math.max(inner, member.index), most), -Infinity); // no spread: one index per prompt
  // [layer × prompts + prompt]: sums over the prompt's included tokens; and its included tokens.
  const sums = { activationRate: new Float64Array(nLayers * prompts), attnOut: new Float64Array(nLayers * prompts), mlpOut: new Float64Array(nLayers * prompts) };
  const counts = new Float64Array(prompts);
  const samples = Array.from({ length: nLayers }, () => new Float32Array(sampleCount * dModel));
  const samplePrompts = new Int32Array(sampleCount);
  const names = Array.from({ length: nLayers }, (_, layer) => (['mlp_active', 'attn_out_norm', 'mlp_out_norm', 'mlp_input_rows'] as const).map((output) => forwardOutputName(layer, output))).flat();
  let count = 0;
  for (const batch of batches) {
    stopIfInterrupted(signal, 'between batches');
    const rows: number[] = [];
    const targets: number[] = [];
    const flat: number[] = []; // indices of included tokens in the [batch·pos] stream
    const promptOf: number[] = []; // the prompt of each of them
    batch.members.forEach((sequence, row) => {
      const chosen = slots.get(sequence.index);
      for (let position = 0; position < sequence.ids.length; position += 1) {
        if (included(sequence, position)) {
          flat.push(row * batch.length + position);
          promptOf.push(sequence.index);
          counts[sequence.index]! += 1;
        }
        const slot = chosen?.get(position);
        if (slot !== undefined) {
          rows.push(row * batch.length + position);
          targets.push(slot);
          samplePrompts[slot] = sequence.index;
        }
      }
    });
    const outputs = await session.run(
      {
        [INPUT_IDS]: { type: 'int64', data: batchInputIds(batch), dims: [batch.members.length, batch.length] },
        [SAMPLE_ROWS]: { type: 'int64', data: BigInt64Array.from(rows, BigInt), dims: [rows.length] },
      },
      names,
    );
    for (let layer = 0; layer < nLayers; layer += 1) {
      const add = (name: 'mlp_active' | 'attn_out_norm' | 'mlp_out_norm', into: Float64Array) => {
        const values = outputs.get(forwardOutputName(layer, name))!.data;
        flat.forEach((index, i) => {
          const value = values[index]!;
          if (!Number.isFinite(value)) throw new NumericalError(`${name} of layer ${layer} is ${value} on a real prompt; the forward pass overflowed`);
          into[layer * prompts + promptOf[i]!]! += value;
        });
      };
      add('mlp_active', sums.activationRate);
      add('attn_out_norm', sums.attnOut);
      add('mlp_out_norm', sums.mlpOut);
      const gathered = outputs.get(forwardOutputName(layer, 'mlp_input_rows'))!.data; // [rows, dModel]
      targets.forEach((slot, i) => samples[layer]!.set(gathered.subarray(i * dModel, (i + 1) * dModel), slot * dModel));
    }
    count += flat.length;
    progress.tick(batch.members.reduce((sum, member) => sum + member.ids.length, 0));
  }
  const means = (values: Float64Array) => Array.from({ length: nLayers }, (_, layer) => allTokensMean(values.subarray(layer * prompts, (layer + 1) * prompts), counts));
  return { included: count, activationRate: means(sums.activationRate), attnOut: means(sums.attnOut), mlpOut: means(sums.mlpOut), samples, samplePrompts };
}
