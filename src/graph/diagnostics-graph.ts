/**
 * The in-graph reductions of `measure --diagnostics` (src/results/diagnostics.ts): each turns a
 * block's [batch·pos, dModel] activations (or its attention pattern and head outputs) into a few
 * floats per token, so only [batch, pos, list] arrays leave ONNX Runtime.
 *
 * Each column is one graph output, `diagnostics.<column>`: float [batch, pos, length], its list
 * layer-major (layer l, head h at l × nHeads + h), exactly as the tokens table stores it. A
 * per-sequence column (massive-sequence, the prompts table's) is float [batch, length], one value
 * per layer; it reads the graph input SEQUENCE_LENGTHS (int64 [batch]: each row's real tokens),
 * so the padding of a batch never enters it.
 */
import type { AttentionSpec, BlockSpec, LinearWeights, ModelDims } from '../architectures/types.js';
import {
  cosineColumn,
  DEFAULT_SINK_TOKENS,
  diagnosticColumns,
  headWriteColumn,
  LENS_COLUMNS,
  MASSIVE_MEDIAN_COLUMN,
  massiveColumn,
  sequenceDiagnosticColumns,
  sequenceMassiveColumn,
  SINK_MASS_COLUMN,
  sinkPrefixColumn,
  type CosinePair,
  type Diagnostic,
  type DiagnosticColumn,
  type DiagnosticSelection,
  type DiagnosticShape,
} from '../results/diagnostics.js';
import { buildAttentionParts, SequenceValues } from './attention.js';
import type { BlockTaps } from './block-recipe.js';
import type { GraphContext } from './graph-context.js';
import type { LensBuilder } from './lens-graph.js';
import { massiveStatistics, medianRatio, sequenceMassive, TINY } from './massive-reductions.js';
import { ElementType, int, ints } from './onnx-builder.js';

/** The graph input of per-sequence diagnostics: int64 [batch], the real (unpadded) tokens of each row. */
export const SEQUENCE_LENGTHS = 'sequence_lengths';

export interface DiagnosticOutput {
  column: DiagnosticColumn;
  /** Graph output: float [batch, pos, column.length]. */
  name: string;
}

export function diagnosticOutputName(column: string): string {
  return `diagnostics.${column}`;
}

/** One block's values a diagnostic reads. */
interface BlockValues {
  residPre: string;
  attnOut: string;
  residMid: string | undefined;
  mlpOut: string;
  residPost: string;
  pattern: string;
  z: string;
  spec: Pick<BlockSpec, 'attention' | 'norm1'>;
  /** The prefix of the block's node names, blocks.<layer>.diagnostics. */
  prefix: string;
}

/** What a diagnostic's graph part adds for one block: `put(column, piece)` for each of its columns. */
type BlockPart = (block: BlockValues, put: (column: string, piece: string) => void, layer: number) => void;

/** Collects each column's per-layer pieces and joins them into one output per column. */
export class DiagnosticsBuilder {
  readonly columns: DiagnosticColumn[];
  /** Columns per sequence (the prompts table's). */
  readonly sequenceColumns: DiagnosticColumn[];
  /** [column name] → per-layer pieces, [batch·pos, perLayer] each ([batch, 1] for sequence columns) */
  private readonly pieces = new Map<string, string[]>();
  /** SEQUENCE_LENGTHS, when a sequence column is selected. */
  readonly sequenceLengths?: string;
  private readonly maskOfDims?: string;
  private readonly sinkTokens: number;
  private readonly foldValueBiases: boolean;
  private readonly selection: ReadonlySet<Diagnostic>;

  constructor(
    private readonly ctx: GraphContext,
    private readonly sequence: SequenceValues,
    selection: DiagnosticSelection,
    private readonly shape: DiagnosticShape & ModelDims,
    /** The logit lens's graph, when `lens` is selected. */
    private readonly lens?: LensBuilder,
  ) {
    this.selection = new Set(selection.diagnostics);
    this.columns = diagnosticColumns(selection, shape);
    this.sequenceColumns = sequenceDiagnosticColumns(selection, shape);
    for (const column of [...this.columns, ...this.sequenceColumns]) this.pieces.set(column.name, []);
    if (this.sequenceColumns.length > 0) this.sequenceLengths = ctx.g.addInput(SEQUENCE_LENGTHS, ElementType.int64, ['batch']);
    this.sinkTokens = selection.sinkTokens ?? DEFAULT_SINK_TOKENS;
    this.foldValueBiases = (selection.headValueBiases ?? 'folded') === 'folded';
    const dims = selection.massiveDims ?? [];
    if (dims.length > 0) {
      const mask = Array.from({ length: shape.dModel }, (_, i) => (dims.includes(i) ? 0 : 1));
      this.maskOfDims = ctx.g.floatConstant(mask, [shape.dModel]);
    }
  }

  get selected(): boolean {
    return this.columns.length > 0 || this.sequenceColumns.length > 0;
  }

  /** The lens of the embeddings (its index 0), before block 0; returns the pieces made (for the barriers). */
  addEmbeddings(residPre: string): string[] {
    if (!this.pieces.has(LENS_COLUMNS.entropy)) return [];
    return this.putLens(residPre, 'lens.0');
  }

  private putLens(x: string, name: string): string[] {
    const { entropy, rank } = this.lens!.add(x, name);
    this.pieces.get(LENS_COLUMNS.entropy)!.push(entropy);
    this.pieces.get(LENS_COLUMNS.rank)!.push(rank);
    return [entropy, rank];
  }

  /**
   * Add one block's taps to every selected column; returns the pieces made (for the barriers).
   * Each piece depends on this block alone (its taps and weights), so a graph of a range of
   * blocks computes the same pieces.
   */
  addBlock(layer: number, taps: BlockTaps, spec: Pick<BlockSpec, 'attention' | 'norm1'>): string[] {
    const block: BlockValues = {
      residPre: taps.resid_pre,
      attnOut: taps.attn_out,
      residMid: taps.resid_mid,
      mlpOut: taps.mlp_out,
      residPost: taps.resid_post,
      pattern: taps['attn.pattern'],
      z: taps['attn.z'],
      spec,
      prefix: `blocks.${layer}.diagnostics`,
    };
    const made: string[] = [];
    const put = (column: string, value: string) => {
      this.pieces.get(column)!.push(value);
      made.push(value);
    };
    for (const [diagnostic, part] of Object.entries(this.blockParts) as Array<[Diagnostic, BlockPart]>) {
      if (this.selection.has(diagnostic)) part(block, put, layer);
    }
    return made;
  }

  /**
   * Each diagnostic's graph part: the pieces it adds for one block, by column name. Keyed by every
   * diagnostic, so one without a graph part does not compile; run in this order (the lens first).
   */
  private readonly blockParts: Record<Diagnostic, BlockPart> = {
    lens: (block, put, layer) => {
      const { entropy, rank } = this.lens!.add(block.residPost, `lens.${layer + 1}`);
      put(LENS_COLUMNS.entropy, entropy);
      put(LENS_COLUMNS.rank, rank);
    },
    cosines: (block, put) => {
      const pairs: Array<[CosinePair, string, string]> = [['attn_resid_pre', block.attnOut, block.residPre]];
      if (block.residMid !== undefined) pairs.push(['mlp_resid_mid', block.mlpOut, block.residMid]);
      else pairs.push(['block_resid_pre', this.ctx.g.node('Add', [block.attnOut, block.mlpOut], {}, `${block.prefix}.block_out`), block.residPre]);
      for (const [pair, a, b] of pairs) {
        const cos = this.cosines(a, b, `${block.prefix}.cos_${pair}`);
        put(cosineColumn(pair, 'raw'), cos.raw);
        put(cosineColumn(pair, 'centered'), cos.centered);
      }
    },
    massive: (block, put) => {
      const statistics = massiveStatistics(this.ctx, block.residPost, this.shape.dModel, this.maskOfDims, `${block.prefix}.massive`);
      for (const [statistic, value] of Object.entries(statistics) as Array<[keyof typeof statistics, string]>) put(massiveColumn(statistic), value);
    },
    'massive-median': (block, put) =>
      put(MASSIVE_MEDIAN_COLUMN, medianRatio(this.ctx, block.residPost, this.shape.dModel, `${block.prefix}.massive_median_ratio`)),
    'massive-sequence': (block, put) => {
      const sequence = { tokenShape: this.sequence.tokenShape, lengths: this.sequenceLengths! };
      const statistics = sequenceMassive(this.ctx, block.residPost, this.shape.dModel, sequence, `${block.prefix}.massive_seq`);
      for (const [statistic, value] of Object.entries(statistics) as Array<[keyof typeof statistics, string]>) put(sequenceMassiveColumn(statistic), value);
    },
    sinks: (block, put) => {
      put(SINK_MASS_COLUMN, this.sinkMass(block.pattern, 1, `${block.prefix}.sink_mass`));
      const firstK = sinkPrefixColumn(this.sinkTokens);
      if (this.pieces.has(firstK)) put(firstK, this.sinkMass(block.pattern, this.sinkTokens, `${block.prefix}.${firstK}`));
    },
    heads: (block, put) => {
      const bias = this.foldValueBiases ? this.valueBias(block.spec, `${block.prefix}.head_write`) : undefined;
      const z = bias === undefined ? block.z : this.ctx.g.node('Sub', [block.z, bias], {}, `${block.prefix}.head_write.z_folded`);
      const writes = this.headWrites(z, block.spec.attention.out, `${block.prefix}.head_write`);
      put(headWriteColumn('raw'), writes.raw);
      put(headWriteColumn('centered'), writes.centered);
    },
  };

  /** One output per column, its layers joined: float [batch, pos, length]. */
  finish(): DiagnosticOutput[] {
    const g = this.ctx.g;
    return this.columns.map((column) => {
      const joined = this.joinLayers(column); // [batch·pos, length]
      const name = g.node('Reshape', [joined, this.sequence.shapeWith([column.length])], {}, diagnosticOutputName(column.name));
      g.addOutput(name, ElementType.float, ['batch', 'pos', column.length]);
      return { column, name };
    });
  }

  /** One output per sequence column, its layers joined: float [batch, length]. */
  finishSequences(): DiagnosticOutput[] {
    const g = this.ctx.g;
    return this.sequenceColumns.map((column) => {
      const name = g.node('Identity', [this.joinLayers(column)], {}, diagnosticOutputName(column.name));
      g.addOutput(name, ElementType.float, ['batch', column.length]);
      return { column, name };
    });
  }

  private joinLayers(column: DiagnosticColumn): string {
    const pieces = this.pieces.get(column.name)!;
    const expected = column.length / column.perLayer;
    if (pieces.length !== expected) throw new Error(`diagnostic ${column.name} has ${pieces.length} layers of ${expected}`);
    return pieces.length === 1 ? pieces[0]! : this.ctx.g.node('Concat', pieces, { axis: int(1) }, `diagnostics.${column.name}.layers`);
  }

  /** Raw and centered cosine of a and b per token. [batch·pos, d] ×2 → [batch·pos, 1] ×2 */
  private cosines(a: string, b: string, name: string): { raw: string; centered: string } {
    const g = this.ctx.g;
    const keep = { axes: ints([-1]), keepdims: int(1) };
    const cosine = (x: string, y: string, label: string) => {
      const dot = g.node('ReduceSum', [g.node('Mul', [x, y]), g.intConstant([-1])], { keepdims: int(1) });
      const norms = g.node('Mul', [g.node('ReduceL2', [x], keep), g.node('ReduceL2', [y], keep)]);
      return g.node('Div', [dot, g.node('Max', [norms, g.floatConstant([TINY], [])])], {}, `${name}_${label}`);
    };
    const centered = (x: string) => g.node('Sub', [x, g.node('ReduceMean', [x], keep)]);
    return { raw: cosine(a, b, 'raw'), centered: cosine(centered(a), centered(b), 'centered') };
  }

  /**
   * Attention each query puts on keys 0…k − 1 together, per head: the pattern is already 0 on
   * keys a query does not see (later positions, keys outside a local window), so the sum is
   * the attention on the first k positions wherever it is. pattern → [batch·pos, nHeads]
   */
  private sinkMass(pattern: string, k: number, name: string): string {
    const g = this.ctx.g;
    const { nHeads } = this.shape;
    const sliced = g.node('Slice', [pattern, g.intConstant([0]), g.intConstant([k]), g.intConstant([-1])]); // [..., pos, min(k, pos)]
    const first = k === 1 ? sliced : g.node('ReduceSum', [sliced, g.intConstant([-1])], { keepdims: int(1) }); // [..., pos, 1]
    const perHead = g.node('Reshape', [first, g.intConstant([0, nHeads, -1])]); // [batch, nHeads, pos]
    return g.node('Reshape', [g.node('Transpose', [perHead], { perm: ints([0, 2, 1]) }), g.intConstant([-1, nHeads])], {}, name);
  }

  /**
   * The constant part of each head's z, [1, nHeads·dHead], in z's layout: b_V, plus ln1's bias
   * through W_V (what fold_ln moves into b_V), or undefined when the block has neither. Since
   * every query's attention sums to 1, z = z' + this, with z' the heads' outputs of the values
   * without these biases (TransformerLens's processed hook_z, whose fold_value_biases moves them
   * into b_O). It is the block's own attention (attention.ts) run on one position holding what
   * ln1 gives for a zero normalized input: ln1's bias (zero without one): its values are then
   * the value biases, and a lone query attends only to itself. Weights only, so ONNX Runtime
   * folds it at load.
   */
  private valueBias(block: Pick<BlockSpec, 'attention' | 'norm1'>, name: string): string | undefined {
    const g = this.ctx.g;
    const { dModel } = this.shape;
    const normBias = block.norm1?.bias;
    if (!hasValueBias(block.attention) && normBias === undefined) return undefined;
    const input = normBias
      ? g.node('Reshape', [this.ctx.weight(normBias), g.intConstant([1, dModel])], {}, `${name}.ln1_bias`)
      : g.floatConstant(new Array<number>(dModel).fill(0), [1, dModel]);
    const onePosition = new SequenceValues(this.ctx, g.intConstant([0]), g.intConstant([1, 1]));
    return buildAttentionParts(this.ctx, onePosition, input, block.attention, this.shape, `${name}.value_bias`).z;
  }

  /**
   * ‖z_h·W_O,h‖ per head through the head's Gram matrix: ‖z_h W_O,h‖² = z_h·(W_O,h W_O,hᵀ)·z_h,
   * dHead² per head and token instead of dHead × dModel. The Gram matrices depend on weights
   * only (ONNX Runtime folds them at load). Centered: W_O,h with each row's mean removed, as
   * TransformerLens's center_writing_weights does. z: [batch·pos, nHeads·dHead] → [batch·pos, nHeads] ×2
   */
  private headWrites(z: string, out: LinearWeights, name: string): { raw: string; centered: string } {
    const g = this.ctx.g;
    const { nHeads, dHead, dModel } = this.shape;
    const stored = this.ctx.weight(out.weight);
    const rows = out.layout === 'out_in' ? g.node('Transpose', [stored], { perm: ints([1, 0]) }) : stored; // [nHeads·dHead, dModel]
    const perHead = g.node('Reshape', [rows, g.intConstant([nHeads, dHead, dModel])], {}, `${name}.w_o`);
    const centeredW = g.node('Sub', [perHead, g.node('ReduceMean', [perHead], { axes: ints([-1]), keepdims: int(1) })]);
    const gram = (w: string, label: string) => g.node('MatMul', [w, g.node('Transpose', [w], { perm: ints([0, 2, 1]) })], {}, `${name}.gram_${label}`); // [nHeads, dHead, dHead]
    const heads = g.node('Transpose', [g.node('Reshape', [z, g.intConstant([-1, nHeads, dHead])])], { perm: ints([1, 0, 2]) }); // [nHeads, batch·pos, dHead]
    const write = (w: string, label: string) => {
      const quadratic = g.node('ReduceSum', [g.node('Mul', [g.node('MatMul', [heads, gram(w, label)]), heads]), g.intConstant([-1])], { keepdims: int(0) }); // [nHeads, batch·pos]
      return g.node('Transpose', [g.node('Sqrt', [g.node('Relu', [quadratic])])], { perm: ints([1, 0]) }, `${name}_${label}`);
    };
    return { raw: write(perHead, 'raw'), centered: write(centeredW, 'centered') };
  }
}

/** Whether the value projection has a bias (a fused projection's bias covers q, k and v). */
function hasValueBias(attention: AttentionSpec): boolean {
  const { qkv } = attention;
  return qkv.kind === 'separate' ? qkv.v.bias !== undefined : qkv.linear.bias !== undefined;
}
