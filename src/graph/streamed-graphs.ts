/**
 * The graphs of a streamed run (src/measure/streamed-run.ts), which runs a model too large for
 * float32 memory one block at a time, handing each batch's residual stream from block to block:
 *
 *   embedding  input_ids → resid_out, the embeddings as the model uses them; the tables stay in
 *              their files and only the selected rows are cast to float32
 *   block      resid_in → resid_out, plus what the caller reads at the block's taps; the block's
 *              weights are graph inputs (weight.0, weight.1 … in order of first use), fed float32
 *              values one block at a time, and the block is built as block 0 of a one-block
 *              model, so every block of one structure gives the same bytes and shares a session
 *   lens       resid_in, next_ids → the logit lens of that stream (final norm and W_U as inputs)
 *
 * Every block comes from the one block recipe (block-recipe.ts); nothing is wired twice.
 */
import type { TransformerSpec } from '../architectures/types.js';
import type { TensorInfo } from '../models/index.js';
import { LENS_COLUMNS, type DiagnosticSelection } from '../results/diagnostics.js';
import type { HookName } from '../vocabulary/hooks.js';
import { buildBlock, type BlockModel, type BlockObserver, type BlockTaps } from './block-recipe.js';
import { DiagnosticsBuilder, type DiagnosticOutput } from './diagnostics-graph.js';
import type { ExternalDataLayout } from './external-data.js';
import { HookNorms, type HookOutput } from './hook-norms.js';
import { GraphContext } from './graph-context.js';
import { LensBuilder } from './lens-graph.js';
import { ElementType, GraphBuilder } from './onnx-builder.js';
import { outputResidual, startFromResidual, startFromTokens, type StreamStart } from './stream.js';

export { INPUT_IDS, RESIDUAL_INPUT } from './stream.js';
/** The stream leaving a graph of a streamed run, float [batch, pos, dModel]. */
export const RESIDUAL_OUTPUT = 'resid_out';
/** The lens graph's second input: each position's next token id, −1 where none. */
export const LENS_NEXT_IDS = 'next_ids';
export const LENS_OUTPUTS = { entropy: `lens.${LENS_COLUMNS.entropy}`, rank: `lens.${LENS_COLUMNS.rank}` } as const;

export interface WeightInput {
  input: string;
  tensor: TensorInfo;
}

export interface StreamGraph {
  bytes: Uint8Array;
  /** The inputs fed weights, each with the tensor it is read from: only those the outputs need. */
  weightInputs: WeightInput[];
  outputNames: string[];
}

function finishGraph(ctx: GraphContext): StreamGraph {
  const live = new Set(ctx.g.inputNames);
  return { bytes: ctx.g.toBytes(), weightInputs: ctx.weightInputs.filter(({ input }) => live.has(input)), outputNames: ctx.g.outputNames };
}

/** input_ids → resid_out: resid_pre of block 0 (the tables referenced in their files). */
export function buildEmbeddingGraph(spec: TransformerSpec, layout: ExternalDataLayout): StreamGraph {
  const ctx = new GraphContext(new GraphBuilder(`resid-norms embeddings ${spec.architecture}`), layout);
  const start = startFromTokens(ctx, spec);
  outputResidual(ctx, start, start.residual, spec.dims.dModel, RESIDUAL_OUTPUT);
  return finishGraph(ctx);
}

/** What a caller reads at one block's taps: its observer, and what it makes of the taps once the block is built. */
export interface BlockReads {
  observer: BlockObserver;
  afterBlock?(taps: BlockTaps): void;
}

/** Builds a block's reads in the block's graph (given its context, its stream start and its one-block model). */
export type BlockReader = (ctx: GraphContext, start: StreamStart, model: BlockModel) => BlockReads;

/** The model's block `layer` as block 0 of a one-block model: the same graph for every block of one structure. */
export function oneBlockModel(spec: Pick<TransformerSpec, 'dims' | 'parallelResidual' | 'blocks'>, layer: number): BlockModel {
  return { dims: spec.dims, parallelResidual: spec.parallelResidual, blocks: [spec.blocks[layer]!] };
}

/** resid_in → (resid_out when `outputsResidual`) and the reads' outputs, for block `layer`, its weights as inputs. */
export function buildBlockGraph(spec: TransformerSpec, layer: number, reader: BlockReader, options: { outputsResidual: boolean }): StreamGraph {
  const ctx = new GraphContext(new GraphBuilder(`resid-norms block ${spec.architecture}`), { kind: 'inputs' });
  const start = startFromResidual(ctx, spec.dims.dModel);
  const model = oneBlockModel(spec, layer);
  const reads = reader(ctx, start, model);
  const taps = buildBlock(ctx, start.sequence, model, 0, start.residual, reads.observer);
  reads.afterBlock?.(taps);
  if (options.outputsResidual) outputResidual(ctx, start, taps.resid_post, spec.dims.dModel, RESIDUAL_OUTPUT);
  return finishGraph(ctx);
}

/** What measure's block graph outputs: the hook norms and diagnostic pieces of block 0 (the block the graph runs). */
export interface MeasureBlockOutputs {
  hooks: HookOutput[];
  /** Each column's values for this one block: float [batch, pos, column.perLayer]. */
  diagnostics: DiagnosticOutput[];
  /** Each per-sequence column's values for this one block: float [batch, column.perLayer]. */
  sequenceDiagnostics: DiagnosticOutput[];
  /** The graph reads SEQUENCE_LENGTHS (per-sequence diagnostics). */
  readsSequenceLengths: boolean;
}

/**
 * measure's graph of block `layer`: the hook norms of `hooks` and the in-graph diagnostics other
 * than the lens (which runs in its own graph, over every stream), computed as the whole model's
 * graph (transformer-graph.ts) computes them, named as block 0's.
 */
export function buildMeasureBlockGraph(
  spec: TransformerSpec,
  layer: number,
  hooks: readonly HookName[],
  selection: DiagnosticSelection,
  options: { outputsResidual: boolean },
): StreamGraph & MeasureBlockOutputs {
  let outputs: MeasureBlockOutputs = { hooks: [], diagnostics: [], sequenceDiagnostics: [], readsSequenceLengths: false };
  const graph = buildBlockGraph(
    spec,
    layer,
    (ctx, start, model) => {
      const norms = new HookNorms(ctx, hooks, model.dims.dModel, start.tokenShape);
      const blockSelection = { ...selection, diagnostics: selection.diagnostics.filter((diagnostic) => diagnostic !== 'lens') };
      const diagnostics = new DiagnosticsBuilder(ctx, start.sequence, blockSelection, { ...model.dims, nLayers: 1, parallelResidual: model.parallelResidual });
      return {
        observer: norms.observer(0),
        afterBlock: (taps) => {
          if (diagnostics.selected) norms.wait(diagnostics.addBlock(0, taps, model.blocks[0]!));
          outputs = {
            hooks: norms.outputs,
            diagnostics: diagnostics.finish(),
            sequenceDiagnostics: diagnostics.finishSequences(),
            readsSequenceLengths: diagnostics.sequenceLengths !== undefined,
          };
        },
      };
    },
    options,
  );
  return { ...graph, ...outputs };
}

/** resid_in, next_ids → the lens's entropy and rank of that stream, float [batch, pos] each (final norm and W_U as weight inputs). */
export function buildLensGraph(spec: TransformerSpec): StreamGraph {
  if ('unavailable' in spec.outputHead) throw new Error(`the logit lens needs the model's output head: ${spec.outputHead.unavailable}`);
  const ctx = new GraphContext(new GraphBuilder(`resid-norms lens ${spec.architecture}`), { kind: 'inputs' });
  const g = ctx.g;
  const start = startFromResidual(ctx, spec.dims.dModel);
  const lens = new LensBuilder(ctx, spec.outputHead, g.addInput(LENS_NEXT_IDS, ElementType.int64, ['batch', 'pos']), start.tokenShape);
  const { entropy, rank } = lens.add(start.residual, 'lens');
  for (const [value, name] of [
    [entropy, LENS_OUTPUTS.entropy],
    [rank, LENS_OUTPUTS.rank],
  ] as const) {
    g.addOutput(g.node('Reshape', [value, start.tokenShape], {}, name), ElementType.float, ['batch', 'pos']);
  }
  return finishGraph(ctx);
}
