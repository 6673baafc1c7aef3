/**
 * Where a graph's residual stream comes from: the token (+ position) embeddings of input ids,
 * as the model uses them (resid_pre of block 0), or a residual stream given as a graph input,
 * so a graph can run a range of blocks (block-recipe.ts buildBlocks) and hand its output on.
 * Inside a graph the stream is [batch·pos, dModel]: 2-D matrix products let ONNX Runtime fuse
 * each bias add into its GEMM. Only attention and the outputs see [batch, pos].
 */
import type { TransformerSpec } from '../architectures/types.js';
import { SequenceValues } from './attention.js';
import type { GraphContext } from './graph-context.js';
import { ElementType, type GraphBuilder } from './onnx-builder.js';

export const INPUT_IDS = 'input_ids';
/** A range graph's input: the residual stream entering its first block, float [batch, pos, dModel]. */
export const RESIDUAL_INPUT = 'resid_in';

/** The shape of the tokens ([2] = [batch, pos]) and the positions 0 … pos − 1 ([pos]) of a [batch, pos, …] value. */
export function inputPositions(g: GraphBuilder, value: string): { tokenShape: string; positions: string } {
  const shape = g.node('Shape', [value], {}, 'value_shape');
  const tokenShape = g.node('Slice', [shape, g.intConstant([0]), g.intConstant([2])], {}, 'token_shape');
  const length = g.node('Gather', [shape, g.intConstant([1], [])], {}, 'pos_len');
  const positions = g.node('Range', [g.intConstant([0], []), length, g.intConstant([1], [])], {}, 'positions');
  return { tokenShape, positions };
}

/** resid_pre of block 0: token (+ position) embeddings of the input ids, as the model uses them, [batch·pos, dModel]. */
export function embedTokens(
  ctx: GraphContext,
  spec: Pick<TransformerSpec, 'tokenEmbedding' | 'positionEmbedding' | 'dims'>,
  ids: string,
  positions: string,
): string {
  const { g } = ctx;
  // The lookup selects rows first, so a scaled embedding (Gemma's × √d_model) scales [batch, pos, dModel], not the table,
  // and a BF16 table is cast row by row, never as a float32 copy of the whole table.
  let residual = ctx.rows(spec.tokenEmbedding, ids, 'embed'); // [batch, pos, dModel]
  if (spec.positionEmbedding) {
    const { weight, offset } = spec.positionEmbedding;
    const tableRows = offset === 0 ? positions : g.node('Add', [positions, g.intConstant([offset], [])]);
    residual = g.node('Add', [residual, ctx.rows(weight, tableRows, 'pos_embed')], {}, 'embed_pos');
  }
  return g.node('Reshape', [residual, g.intConstant([-1, spec.dims.dModel])], {}, 'blocks.0.resid_pre');
}

export interface StreamStart {
  /** The residual stream entering the first block, [batch·pos, dModel]. */
  residual: string;
  sequence: SequenceValues;
  /** int64 [2] = [batch, pos]. */
  tokenShape: string;
}

/** A graph whose stream starts at the input ids (INPUT_IDS, int64 [batch, pos]): the embeddings. */
export function startFromTokens(
  ctx: GraphContext,
  spec: Pick<TransformerSpec, 'tokenEmbedding' | 'positionEmbedding' | 'dims'>,
): StreamStart & { ids: string } {
  const ids = ctx.g.addInput(INPUT_IDS, ElementType.int64, ['batch', 'pos']);
  const { tokenShape, positions } = inputPositions(ctx.g, ids);
  return { ids, residual: embedTokens(ctx, spec, ids, positions), sequence: new SequenceValues(ctx, positions, tokenShape), tokenShape };
}

/** A graph whose stream starts at a residual input (RESIDUAL_INPUT, float [batch, pos, dModel]): for a range of blocks after the first. */
export function startFromResidual(ctx: GraphContext, dModel: number, name = RESIDUAL_INPUT): StreamStart {
  const input = ctx.g.addInput(name, ElementType.float, ['batch', 'pos', dModel]);
  const { tokenShape, positions } = inputPositions(ctx.g, input);
  const residual = ctx.g.node('Reshape', [input, ctx.g.intConstant([-1, dModel])], {}, `${name}.flat`);
  return { residual, sequence: new SequenceValues(ctx, positions, tokenShape), tokenShape };
}

/** Output the stream [batch·pos, dModel] as float [batch, pos, dModel] under `name`. */
export function outputResidual(ctx: GraphContext, start: StreamStart, residual: string, dModel: number, name: string): string {
  const output = ctx.g.node('Reshape', [residual, start.sequence.shapeWith([dModel])], {}, name);
  ctx.g.addOutput(output, ElementType.float, ['batch', 'pos', dModel]);
  return output;
}
