/**
 * The ONNX graph of a transformer described by a TransformerSpec: token (+ position)
 * embeddings, the blocks, and at each requested hook point two per-token reductions (raw and
 * centered L2 norm), so only [batch, pos] arrays leave ONNX Runtime. No final norm, no LM head.
 *
 * Inputs:  input_ids  int64 [batch, pos]   (right-padded; padding is never seen by real tokens)
 *          next_ids   int64 [batch, pos]   (only with the lens: the next token's id, −1 where none)
 *          sequence_lengths  int64 [batch]  (only with per-sequence diagnostics: each row's real tokens)
 * Outputs: blocks.{l}.hook_{hook}:{raw|centered}  float [batch, pos]
 *          diagnostics.{column}                 float [batch, pos, length]  (only when asked for)
 *          diagnostics.{sequence column}        float [batch, length]       (massive-sequence)
 */
import { availableHooks } from '../architectures/model-shape.js';
import type { TransformerSpec } from '../architectures/types.js';
import type { DiagnosticSelection } from '../results/diagnostics.js';
import type { HookName } from '../vocabulary/hooks.js';
import { buildBlock } from './block-recipe.js';
import { DiagnosticsBuilder, type DiagnosticOutput } from './diagnostics-graph.js';
import type { ExternalDataLayout } from './external-data.js';
import { HookNorms, type HookOutput } from './hook-norms.js';
import { GraphContext } from './graph-context.js';
import { LensBuilder } from './lens-graph.js';
import { ElementType, GraphBuilder } from './onnx-builder.js';
import { startFromTokens } from './stream.js';

export { availableHooks } from '../architectures/model-shape.js';
export { embedTokens, INPUT_IDS, inputPositions } from './stream.js';
export type { HookOutput } from './hook-norms.js';

/** The logit lens's input: each position's next token id, −1 for the last token and padding. */
export const NEXT_IDS = 'next_ids';

export interface BuiltGraph {
  bytes: Uint8Array;
  outputs: HookOutput[];
  /** The graph's distinct outputs (resid_post of block l and resid_pre of block l + 1 share one). */
  outputNames: string[];
  /** One output per diagnostic column (none unless asked for), float [batch, pos, length]. */
  diagnostics: DiagnosticOutput[];
  /** One output per per-sequence diagnostic column (the prompts table's), float [batch, length]. */
  sequenceDiagnostics: DiagnosticOutput[];
  /** Whether the graph reads SEQUENCE_LENGTHS (per-sequence diagnostics). */
  readsSequenceLengths: boolean;
  /** Whether the graph reads NEXT_IDS besides INPUT_IDS (with the lens). */
  readsNextIds: boolean;
  nodeCount: number;
}

export interface GraphOptions {
  hooks: readonly HookName[];
  /** Output only these layers' hooks (all layers when absent). */
  layers?: readonly number[];
  layout: ExternalDataLayout;
  /** In-graph diagnostics to output (none when absent); always over every layer. */
  diagnostics?: DiagnosticSelection;
}

export function buildTransformerGraph(spec: TransformerSpec, options: GraphOptions): BuiltGraph {
  const available = availableHooks(spec);
  const missing = options.hooks.filter((hook) => !available.includes(hook));
  if (missing.length > 0) throw new Error(`hooks ${missing.join(', ')} do not exist in ${spec.architecture}`);

  const g = new GraphBuilder(`resid-norms ${spec.architecture}`);
  const ctx = new GraphContext(g, options.layout);
  const { residual: embeddings, sequence, tokenShape } = startFromTokens(ctx, spec);
  const selection = options.diagnostics ?? { diagnostics: [] };
  let lens: LensBuilder | undefined;
  if (selection.diagnostics.includes('lens')) {
    if ('unavailable' in spec.outputHead) throw new Error(`the logit lens needs the model's output head: ${spec.outputHead.unavailable}`);
    lens = new LensBuilder(ctx, spec.outputHead, g.addInput(NEXT_IDS, ElementType.int64, ['batch', 'pos']), tokenShape);
  }
  const diagnostics = new DiagnosticsBuilder(ctx, sequence, selection, { ...spec.dims, parallelResidual: spec.parallelResidual }, lens);

  const norms = new HookNorms(ctx, options.hooks, spec.dims.dModel, tokenShape, options.layers ? new Set(options.layers) : undefined);

  norms.wait(diagnostics.addEmbeddings(embeddings)); // the lens of the embeddings, before block 0 runs
  const lastLayer = spec.dims.nLayers - 1;
  let residual = embeddings;
  for (let layer = 0; layer <= lastLayer; layer += 1) {
    const observer = norms.observer(layer);
    if (layer === lastLayer && onlyResidPre(options.hooks) && !diagnostics.selected) {
      observer.tap('resid_pre', residual);
      break;
    }
    const taps = buildBlock(ctx, sequence, spec, layer, residual, observer);
    if (diagnostics.selected) norms.wait(diagnostics.addBlock(layer, taps, spec.blocks[layer]!));
    residual = taps.resid_post;
  }
  const diagnosticOutputs = diagnostics.finish();
  const sequenceOutputs = diagnostics.finishSequences();
  return {
    bytes: g.toBytes(),
    outputs: norms.outputs,
    outputNames: norms.outputNames,
    diagnostics: diagnosticOutputs,
    sequenceDiagnostics: sequenceOutputs,
    readsNextIds: lens !== undefined,
    readsSequenceLengths: diagnostics.sequenceLengths !== undefined,
    nodeCount: g.nodeCount,
  };
}

/** With only resid_pre wanted, the last block's attention and MLP are not needed. */
function onlyResidPre(hooks: readonly HookName[]): boolean {
  return hooks.length > 0 && hooks.every((hook) => hook === 'resid_pre');
}
