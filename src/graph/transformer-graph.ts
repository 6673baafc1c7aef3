/**
 * The ONNX graph of a transformer described by a TransformerSpec: token (+ position)
 * embeddings, the blocks, and at each requested hook point two per-token reductions (raw and
 * centered L2 norm), so only [batch, pos] arrays leave ONNX Runtime. No final norm, no LM head.
 *
 * Inputs:  input_ids  int64 [batch, pos]   (right-padded; padding is never seen by real tokens)
 *          next_ids   int64 [batch, pos]   (only with the lens: the next token's id, −1 where none)
 * Outputs: blocks.{l}.hook_{hook}:{raw|centered}  float [batch, pos]
 *          diagnostics.{column}                 float [batch, pos, length]  (only when asked for)
 */
import type { TransformerSpec } from '../architectures/types.js';
import type { DiagnosticSelection } from '../results/diagnostics.js';
import { HOOK_NAMES, type HookName, type NormMetric } from '../vocabulary/hooks.js';
import { buildAttentionParts, SequenceValues } from './attention.js';
import { DiagnosticsBuilder, type DiagnosticOutput } from './diagnostics-graph.js';
import type { ExternalDataLayout } from './external-data.js';
import { hookOutputName } from './hooks.js';
import { GraphContext } from './layers.js';
import { LensBuilder } from './lens-graph.js';
import { ElementType, GraphBuilder } from './onnx-builder.js';

export const INPUT_IDS = 'input_ids';
/** The logit lens's input: each position's next token id, −1 for the last token and padding. */
export const NEXT_IDS = 'next_ids';

/** One (layer, hook, metric) and the graph output carrying it; two entries may share an output. */
export interface HookOutput {
  name: string;
  layer: number;
  hook: HookName;
  metric: NormMetric;
}

export interface BuiltGraph {
  bytes: Uint8Array;
  outputs: HookOutput[];
  /** The graph's distinct outputs (resid_post of block l and resid_pre of block l + 1 share one). */
  outputNames: string[];
  /** One output per diagnostic column (none unless asked for), float [batch, pos, length]. */
  diagnostics: DiagnosticOutput[];
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

/** Hook points that exist for this model (parallel-residual blocks have no resid_mid). */
export function availableHooks(spec: Pick<TransformerSpec, 'parallelResidual'>): HookName[] {
  return HOOK_NAMES.filter((hook) => !(spec.parallelResidual && hook === 'resid_mid'));
}

/** The shape of the input ids ([2] = [batch, pos]) and the positions 0 … pos − 1 ([pos]). */
export function inputPositions(g: GraphBuilder, ids: string): { tokenShape: string; positions: string } {
  const tokenShape = g.node('Shape', [ids], {}, 'token_shape');
  const length = g.node('Gather', [tokenShape, g.intConstant([1], [])], {}, 'pos_len');
  const positions = g.node('Range', [g.intConstant([0], []), length, g.intConstant([1], [])], {}, 'positions');
  return { tokenShape, positions };
}

/** resid_pre of block 0: token (+ position) embeddings of the input ids, as [batch·pos, dModel]. */
export function embedTokens(ctx: GraphContext, spec: TransformerSpec, ids: string, positions: string): string {
  const { g } = ctx;
  let residual = g.node('Gather', [ctx.weight(spec.tokenEmbedding), ids], {}, 'embed'); // [batch, pos, dModel]
  if (spec.positionEmbedding) {
    const { weight, offset } = spec.positionEmbedding;
    const tableRows = offset === 0 ? positions : g.node('Add', [positions, g.intConstant([offset], [])]);
    residual = g.node('Add', [residual, g.node('Gather', [ctx.weight(weight), tableRows], {}, 'pos_embed')], {}, 'embed_pos');
  }
  // The stream stays [batch·pos, dModel] from here on: 2-D matrix products let ONNX Runtime fuse
  // each bias add into its GEMM. Only attention and the outputs see [batch, pos].
  return g.node('Reshape', [residual, g.intConstant([-1, spec.dims.dModel])], {}, 'blocks.0.resid_pre');
}

export function buildTransformerGraph(spec: TransformerSpec, options: GraphOptions): BuiltGraph {
  const available = availableHooks(spec);
  const missing = options.hooks.filter((hook) => !available.includes(hook));
  if (missing.length > 0) throw new Error(`hooks ${missing.join(', ')} do not exist in ${spec.architecture}`);
  const wanted = new Set(options.hooks);
  const wantedLayers = options.layers ? new Set(options.layers) : undefined;

  const g = new GraphBuilder(`resid-norms ${spec.architecture}`);
  const ctx = new GraphContext(g, options.layout);
  const ids = g.addInput(INPUT_IDS, ElementType.int64, ['batch', 'pos']);
  const { tokenShape, positions } = inputPositions(g, ids);
  const sequence = new SequenceValues(ctx, positions, tokenShape);
  const selection = options.diagnostics ?? { diagnostics: [] };
  let lens: LensBuilder | undefined;
  if (selection.diagnostics.includes('lens')) {
    if ('unavailable' in spec.outputHead) throw new Error(`the logit lens needs the model's output head: ${spec.outputHead.unavailable}`);
    lens = new LensBuilder(ctx, spec.outputHead, g.addInput(NEXT_IDS, ElementType.int64, ['batch', 'pos']), tokenShape);
  }
  const diagnostics = new DiagnosticsBuilder(ctx, sequence, selection, { ...spec.dims, parallelResidual: spec.parallelResidual }, lens);
  let residual = embedTokens(ctx, spec, ids, positions);

  // Norms are computed and output once per value: resid_post of block l is resid_pre of block
  // l + 1, so both hook entries name the same output.
  const outputs: HookOutput[] = [];
  const reduced = new Map<string, Record<NormMetric, string>>();
  // Norms computed since the last norm layer: the next one waits for them (see zeroAfter).
  let pending: string[] = [];
  const barrier = (name: string): string | undefined => {
    const after = pending.length > 0 ? ctx.zeroAfter(pending, name) : undefined;
    pending = [];
    return after;
  };
  const record = (layer: number, hook: HookName, value: string): void => {
    if (!wanted.has(hook) || (wantedLayers && !wantedLayers.has(layer))) return;
    let norms = reduced.get(value);
    if (norms === undefined) {
      const names = { raw: hookOutputName(layer, hook, 'raw'), centered: hookOutputName(layer, hook, 'centered') };
      const perToken = (norm: string, name: string) => g.node('Reshape', [norm, tokenShape], {}, name); // [batch·pos] → [batch, pos]
      const flat = ctx.tokenNorms(value, spec.dims.dModel, { raw: `${names.raw}.flat`, centered: `${names.centered}.flat` });
      norms = { raw: perToken(flat.raw, names.raw), centered: perToken(flat.centered, names.centered) };
      for (const metric of ['raw', 'centered'] as const) g.addOutput(norms[metric], ElementType.float, ['batch', 'pos']);
      pending.push(norms.raw, norms.centered);
      reduced.set(value, norms);
    }
    for (const metric of ['raw', 'centered'] as const) outputs.push({ name: norms[metric], layer, hook, metric });
  };

  pending.push(...diagnostics.addEmbeddings(residual)); // the lens of the embeddings, before block 0 runs
  const lastLayer = spec.dims.nLayers - 1;
  for (let layer = 0; layer <= lastLayer; layer += 1) {
    const block = spec.blocks[layer]!;
    const prefix = `blocks.${layer}`;
    record(layer, 'resid_pre', residual);
    if (layer === lastLayer && onlyResidPre(wanted) && !diagnostics.selected) break;
    const residPre = residual;
    const attention = buildAttentionParts(ctx, sequence, ctx.norm(residual, block.norm1, `${prefix}.ln1`, barrier(`${prefix}.ln1.after`)), block.attention, spec.dims, `${prefix}.attn`);
    const attnOut = attention.out;
    record(layer, 'attn_out', attnOut);
    let mlpInput = residual;
    let residMid: string | undefined;
    if (!spec.parallelResidual) {
      residMid = g.node('Add', [residual, attnOut], {}, `${prefix}.resid_mid`);
      record(layer, 'resid_mid', residMid);
      mlpInput = residMid;
    }
    const mlpOut = buildMlp(ctx, ctx.norm(mlpInput, block.norm2, `${prefix}.ln2`, barrier(`${prefix}.ln2.after`)), block.mlp, `${prefix}.mlp`);
    record(layer, 'mlp_out', mlpOut);
    residual = spec.parallelResidual
      ? g.node('Add', [g.node('Add', [residual, attnOut]), mlpOut], {}, `${prefix}.resid_post`)
      : g.node('Add', [residMid!, mlpOut], {}, `${prefix}.resid_post`);
    record(layer, 'resid_post', residual);
    if (diagnostics.selected) {
      const block = { residPre, attnOut, mlpOut, residPost: residual, pattern: attention.pattern, z: attention.z, out: spec.blocks[layer]!.attention.out };
      pending.push(...diagnostics.addBlock(layer, residMid === undefined ? block : { ...block, residMid }));
    }
  }
  const diagnosticOutputs = diagnostics.finish();
  return { bytes: g.toBytes(), outputs, outputNames: [...new Set(outputs.map((o) => o.name))], diagnostics: diagnosticOutputs, readsNextIds: lens !== undefined, nodeCount: g.nodeCount };
}

/** With only resid_pre wanted, the last block's attention and MLP are not needed. */
function onlyResidPre(wanted: Set<HookName>): boolean {
  return wanted.size === 1 && wanted.has('resid_pre');
}

function buildMlp(ctx: GraphContext, x: string, mlp: TransformerSpec['blocks'][number]['mlp'], name: string): string {
  if (mlp.kind === 'dense') {
    const hidden = ctx.linearActivation(x, mlp.in, mlp.activation, `${name}.post`);
    return ctx.linear(hidden, mlp.out, `${name}.out`);
  }
  const gate = ctx.activation(ctx.linear(x, mlp.gate, `${name}.gate`), mlp.activation, `${name}.gate_act`);
  const hidden = ctx.g.node('Mul', [gate, ctx.linear(x, mlp.up, `${name}.up`)], {}, `${name}.post`);
  return ctx.linear(hidden, mlp.down, `${name}.out`);
}
