/**
 * The real-prompt pass of `mechanisms`: batches through the forward graph
 * (src/graph/mechanism-forward-graph.ts), summing per layer and prompt over included tokens the
 * activation rate and the attn_out / mlp_out norms (their means over every included token, with
 * the prompts' cluster-robust error: src/analysis/token-errors.ts), and keeping the MLP inputs
 * of the sampled tokens and the prompt each comes from.
 */
import { allTokensMean, type TokenMean } from '../analysis/token-errors.js';
import type { TransformerSpec } from '../architectures/types.js';
import type { Progress } from '../messages/reporter.js';
import { NumericalError } from '../errors.js';
import type { ExternalDataLayout } from '../graph/external-data.js';
import { buildMechanismBlockGraph, FORWARD_OUTPUTS, forwardOutputName, SAMPLE_ROWS, type ForwardOutput } from '../graph/mechanism-forward-graph.js';
import { INPUT_IDS } from '../graph/transformer-graph.js';
import { stopIfInterrupted } from '../io/interrupt.js';
import { batchInputIds, tokenCount, type Batch } from '../measure/batches.js';
import type { StreamedPlan } from '../measure/memory-plan.js';
import { runStreamed } from '../measure/streamed-run.js';
import type { SessionOptions } from '../runtime/onnx-session.js';
import type { Sequence } from '../measure/sequences.js';
import type { Feed, TensorSession } from '../runtime/tensor-session.js';

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

/** The sums of the real-prompt pass, filled layer by layer from each run's outputs. */
export class ForwardSums {
  private readonly prompts: number;
  // [layer × prompts + prompt]: sums over the prompt's included tokens; and its included tokens.
  private readonly sums: Record<'activationRate' | 'attnOut' | 'mlpOut', Float64Array>;
  private readonly counts: Float64Array;
  private readonly samples: Float32Array[];
  private readonly samplePrompts: Int32Array;
  private included = 0;

  constructor(
    private readonly spec: TransformerSpec,
    batches: readonly Batch[],
    private readonly isIncluded: (sequence: Sequence, position: number) => boolean,
    private readonly slots: SampleSlots,
    sampleCount: number,
  ) {
    const { nLayers, dModel } = spec.dims;
    this.prompts = 1 + batches.reduce((most, batch) => batch.members.reduce((inner, member) => Math.max(inner, member.index), most), -Infinity); // no spread: one index per prompt
    this.sums = {
      activationRate: new Float64Array(nLayers * this.prompts),
      attnOut: new Float64Array(nLayers * this.prompts),
      mlpOut: new Float64Array(nLayers * this.prompts),
    };
    this.counts = new Float64Array(this.prompts);
    this.samples = Array.from({ length: nLayers }, () => new Float32Array(sampleCount * dModel));
    this.samplePrompts = new Int32Array(sampleCount);
  }

  /** Rows [rowStart, rowStart + rowCount) of a batch: its included tokens and sampled rows, as indices into their [rows·pos] stream. */
  private locate(batch: Batch, rowStart: number, rowCount: number): { flat: number[]; promptOf: number[]; rows: number[]; targets: number[] } {
    const located = { flat: [] as number[], promptOf: [] as number[], rows: [] as number[], targets: [] as number[] };
    batch.members.slice(rowStart, rowStart + rowCount).forEach((sequence, row) => {
      const chosen = this.slots.get(sequence.index);
      for (let position = 0; position < sequence.ids.length; position += 1) {
        if (this.isIncluded(sequence, position)) {
          located.flat.push(row * batch.length + position);
          located.promptOf.push(sequence.index);
        }
        const slot = chosen?.get(position);
        if (slot !== undefined) {
          located.rows.push(row * batch.length + position);
          located.targets.push(slot);
        }
      }
    });
    return located;
  }

  /** SAMPLE_ROWS of rows [rowStart, rowStart + rowCount) of a batch: the sampled tokens' rows of that run's stream. */
  sampleRows(batch: Batch, rowStart = 0, rowCount = batch.members.length): BigInt64Array {
    return BigInt64Array.from(this.locate(batch, rowStart, rowCount).rows, BigInt);
  }

  /** Count a batch's included tokens (once per batch). */
  countBatch(batch: Batch): void {
    batch.members.forEach((sequence) => {
      for (let position = 0; position < sequence.ids.length; position += 1) {
        if (this.isIncluded(sequence, position)) {
          this.counts[sequence.index]! += 1;
          this.included += 1;
        }
        const slot = this.slots.get(sequence.index)?.get(position);
        if (slot !== undefined) this.samplePrompts[slot] = sequence.index;
      }
    });
  }

  /** Add one run's outputs of `layer` (each by its output's name) for rows [rowStart, rowStart + rowCount) of a batch. */
  add(layer: number, batch: Batch, rowStart: number, rowCount: number, outputOf: (output: ForwardOutput) => Float32Array): void {
    const { dModel } = this.spec.dims;
    const { flat, promptOf, targets } = this.locate(batch, rowStart, rowCount);
    const add = (name: 'mlp_active' | 'attn_out_norm' | 'mlp_out_norm', into: Float64Array) => {
      const values = outputOf(name);
      flat.forEach((index, i) => {
        const value = values[index]!;
        if (!Number.isFinite(value)) throw new NumericalError(`${name} of layer ${layer} is ${value} on a real prompt; the forward pass overflowed`);
        into[layer * this.prompts + promptOf[i]!]! += value;
      });
    };
    add('mlp_active', this.sums.activationRate);
    add('attn_out_norm', this.sums.attnOut);
    add('mlp_out_norm', this.sums.mlpOut);
    const gathered = outputOf('mlp_input_rows'); // [rows, dModel]
    targets.forEach((slot, i) => this.samples[layer]!.set(gathered.subarray(i * dModel, (i + 1) * dModel), slot * dModel));
  }

  totals(): ForwardTotals {
    const { nLayers } = this.spec.dims;
    const means = (values: Float64Array) =>
      Array.from({ length: nLayers }, (_, layer) => allTokensMean(values.subarray(layer * this.prompts, (layer + 1) * this.prompts), this.counts));
    return {
      included: this.included,
      activationRate: means(this.sums.activationRate),
      attnOut: means(this.sums.attnOut),
      mlpOut: means(this.sums.mlpOut),
      samples: this.samples,
      samplePrompts: this.samplePrompts,
    };
  }
}

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
  const { nLayers } = spec.dims;
  const sums = new ForwardSums(spec, batches, included, slots, sampleCount);
  const names = Array.from({ length: nLayers }, (_, layer) => FORWARD_OUTPUTS.map((output) => forwardOutputName(layer, output))).flat();
  for (const batch of batches) {
    stopIfInterrupted(signal, 'between batches');
    const rows = sums.sampleRows(batch);
    const outputs = await session.run(
      {
        [INPUT_IDS]: { type: 'int64', data: batchInputIds(batch), dims: [batch.members.length, batch.length] },
        [SAMPLE_ROWS]: { type: 'int64', data: rows, dims: [rows.length] },
      },
      names,
    );
    sums.countBatch(batch);
    for (let layer = 0; layer < nLayers; layer += 1)
      sums.add(layer, batch, 0, batch.members.length, (output) => outputs.get(forwardOutputName(layer, output))!.data);
    progress.tick(batch.members.reduce((sum, member) => sum + member.ids.length, 0));
  }
  return sums.totals();
}

/**
 * The same pass block by block, for a model that would not fit its budget whole
 * (src/measure/streamed-run.ts): each block's outputs added as its runs give them.
 */
export async function runForwardStreamed(
  model: { spec: TransformerSpec; layout: ExternalDataLayout },
  batches: readonly Batch[],
  included: (sequence: Sequence, position: number) => boolean,
  slots: SampleSlots,
  sampleCount: number,
  plan: StreamedPlan,
  session: SessionOptions,
  progress: Progress,
  signal?: AbortSignal,
): Promise<ForwardTotals> {
  const { spec } = model;
  const sums = new ForwardSums(spec, batches, included, slots, sampleCount);
  for (const batch of batches) sums.countBatch(batch);
  const streamed = batches.map((batch) => ({ ids: batchInputIds(batch), rows: batch.members.length, length: batch.length, tokens: tokenCount(batch) }));
  await runStreamed(
    { ...model, blockGraph: (layer) => buildMechanismBlockGraph(spec, layer) },
    streamed,
    plan,
    {
      block: (layer, run) => sums.add(layer, batches[run.batch]!, run.rowStart, run.rows, (output) => run.values.get(forwardOutputName(0, output))!),
      feeds: (_layer, index, rowStart, rows): Record<string, Feed> => {
        const sampled = sums.sampleRows(batches[index]!, rowStart, rows);
        return { [SAMPLE_ROWS]: { type: 'int64', data: sampled, dims: [sampled.length] } };
      },
      chunkDone: () => undefined,
      stop: () => stopIfInterrupted(signal, 'between batches'),
    },
    { session, progress },
  );
  return sums.totals();
}
