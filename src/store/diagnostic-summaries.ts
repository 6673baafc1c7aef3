/**
 * Fixed-size summaries of a run's diagnostic columns, streamed while the tables are written, for
 * the results file and the figures (which never read the tables again): per layer, the
 * distribution of each per-layer value over included tokens; per layer and head, the mean of
 * each per-head value; the dimensions that hold the largest |x_i| most often, over included
 * tokens and at position 0; each norm column's mean at position 0 (left out of the norm
 * summaries, and the position attention sinks point at; the attention on the first k positions
 * is averaged over included tokens from position k on); for per-sequence columns (Sun et al.'s
 * massive activations), per layer, their distribution over sequences and the share of sequences
 * with a massive activation; and for the logit lens, per stream,
 * the distributions of entropy and rank and the top-1 / top-10 shares over included tokens that
 * have a next token (the last token of a sequence has none).
 */
import { StreamingSummary } from '../analysis/streaming-summary.js';
import { LENS_COLUMNS, massiveColumn, sequenceMassiveColumn, type DiagnosticColumn } from '../results/diagnostics.js';
import type { DiagnosticSummaries } from '../results/diagnostics-info.js';
import { columnOffsets, startOf, type ColumnOffsets } from './packed-layout.js';

/** The columns summarized their own way: the dimension of the largest |x_i| (counted, not averaged), and Sun et al.'s count per sequence. */
const MASSIVE_DIM = massiveColumn('dim');
const MASSIVE_SEQUENCE_COUNT = sequenceMassiveColumn('count');

/** How many dimensions per layer the results file names as most often the largest. */
const TOP_DIMENSIONS = 5;

export class DiagnosticSummaryBuilder {
  /** [column][layer] for per-layer columns */
  private readonly perLayer = new Map<string, StreamingSummary[]>();
  /** [column] → sums [layer × nHeads] for per-head columns, and the tokens summed */
  private readonly perHeadSums = new Map<string, Float64Array>();
  private readonly perHeadCounts = new Map<string, number>();
  private included = 0;
  private firstPositions = 0;
  /** [layer] → dimension → count, over included tokens and at position 0 */
  private readonly dimCounts: { included: Array<Map<number, number>>; first: Array<Map<number, number>> };
  /** [norm column] → sums [layer] at position 0 */
  private readonly firstNormSums: Float64Array[];
  /** The lens's columns (where they start in a token's values, per position) and counts per stream. */
  private readonly lens?: { entropyStart: number; rankStart: number; length: number; tokens: number; top1: Float64Array; top10: Float64Array };

  /** [sequence column][layer], and per layer the sequences with massive_seq_count > 0. */
  private readonly perSequence = new Map<string, StreamingSummary[]>();
  private sequences = 0;
  private readonly withMassive: Float64Array;
  /** Where each column starts in a token's values (per position) and in a sequence's. */
  private readonly offsets: ColumnOffsets;
  private readonly sequenceOffsets: ColumnOffsets;

  constructor(
    private readonly columns: readonly DiagnosticColumn[],
    private readonly normColumns: readonly string[],
    private readonly nLayers: number,
    private readonly sequenceColumns: readonly DiagnosticColumn[] = [],
  ) {
    for (const column of sequenceColumns)
      this.perSequence.set(
        column.name,
        Array.from({ length: column.length }, () => new StreamingSummary()),
      );
    this.withMassive = new Float64Array(nLayers);
    for (const column of columns) {
      if (column.name === MASSIVE_DIM) continue;
      if (column.perLayer === 1)
        this.perLayer.set(
          column.name,
          Array.from({ length: column.length }, () => new StreamingSummary()),
        );
      else {
        this.perHeadSums.set(column.name, new Float64Array(column.length));
        this.perHeadCounts.set(column.name, 0);
      }
    }
    this.offsets = columnOffsets(columns);
    this.sequenceOffsets = columnOffsets(sequenceColumns);
    const rank = columns.find((column) => column.name === LENS_COLUMNS.rank);
    if (rank !== undefined) {
      const streams = rank.length;
      this.lens = {
        entropyStart: startOf(this.offsets, LENS_COLUMNS.entropy)!,
        rankStart: startOf(this.offsets, LENS_COLUMNS.rank)!,
        length: streams,
        tokens: 0,
        top1: new Float64Array(streams),
        top10: new Float64Array(streams),
      };
    }
    this.dimCounts = { included: Array.from({ length: nLayers }, () => new Map()), first: Array.from({ length: nLayers }, () => new Map()) };
    this.firstNormSums = normColumns.map(() => new Float64Array(nLayers));
  }

  /**
   * One token. diagnostics: its sequence's [column][position][list]; norm(c, l): its value of
   * norm column c at layer l.
   */
  add(diagnostics: Float32Array, length: number, position: number, excluded: boolean, norm: (column: number, layer: number) => number): void {
    if (position === 0) {
      this.firstPositions += 1;
      this.normColumns.forEach((_, c) => {
        for (let layer = 0; layer < this.nLayers; layer += 1) this.firstNormSums[c]![layer]! += norm(c, layer);
      });
    }
    if (excluded && position !== 0) return;
    if (!excluded) this.included += 1;
    if (!excluded) this.addLens(diagnostics, length, position);
    for (let c = 0; c < this.columns.length; c += 1) {
      const column = this.columns[c]!;
      const from = this.offsets.starts[c]! * length + position * column.length;
      if (column.name === LENS_COLUMNS.entropy || column.name === LENS_COLUMNS.rank) continue;
      if (column.name === MASSIVE_DIM) {
        const count = (counts: Map<number, number>, dim: number) => counts.set(dim, (counts.get(dim) ?? 0) + 1);
        for (let layer = 0; layer < this.nLayers; layer += 1) {
          const dim = Math.round(diagnostics[from + layer]!);
          if (position === 0) count(this.dimCounts.first[layer]!, dim);
          if (!excluded) count(this.dimCounts.included[layer]!, dim);
        }
        continue;
      }
      if (excluded) continue;
      const summaries = this.perLayer.get(column.name);
      if (summaries) for (let layer = 0; layer < this.nLayers; layer += 1) summaries[layer]!.add(diagnostics[from + layer]!);
      const sums = this.perHeadSums.get(column.name);
      if (sums && position >= (column.summarizedFrom ?? 0)) {
        for (let i = 0; i < column.length; i += 1) sums[i]! += diagnostics[from + i]!;
        this.perHeadCounts.set(column.name, this.perHeadCounts.get(column.name)! + 1);
      }
    }
  }

  /** One sequence's per-sequence values, [column][list] in the columns' order. */
  addSequence(values: Float32Array): void {
    this.sequences += 1;
    for (let c = 0; c < this.sequenceColumns.length; c += 1) {
      const column = this.sequenceColumns[c]!;
      const from = this.sequenceOffsets.starts[c]!;
      const summaries = this.perSequence.get(column.name)!;
      for (let i = 0; i < column.length; i += 1) summaries[i]!.add(values[from + i]!);
      if (column.name === MASSIVE_SEQUENCE_COUNT)
        for (let layer = 0; layer < this.nLayers; layer += 1) if (values[from + layer]! > 0) this.withMassive[layer]! += 1;
    }
  }

  /** One included token's lens values: counted where the token has a next token (rank ≥ 0). */
  private addLens(diagnostics: Float32Array, length: number, position: number): void {
    const lens = this.lens;
    if (lens === undefined) return;
    const ranks = lens.rankStart * length + position * lens.length;
    if (diagnostics[ranks]! < 0) return; // no next token: the same at every stream
    const entropies = lens.entropyStart * length + position * lens.length;
    const entropy = this.perLayer.get(LENS_COLUMNS.entropy)!;
    const rank = this.perLayer.get(LENS_COLUMNS.rank)!;
    lens.tokens += 1;
    for (let stream = 0; stream < lens.length; stream += 1) {
      const value = diagnostics[ranks + stream]!;
      entropy[stream]!.add(diagnostics[entropies + stream]!);
      rank[stream]!.add(value);
      if (value < 1) lens.top1[stream]! += 1;
      if (value < 10) lens.top10[stream]! += 1;
    }
  }

  finish(): DiagnosticSummaries {
    const topDims = (counts: Array<Map<number, number>>, total: number) =>
      counts.map((byDim) =>
        [...byDim]
          .sort((a, b) => b[1] - a[1] || a[0] - b[0])
          .slice(0, TOP_DIMENSIONS)
          .map(([dim, count]) => ({ dim, share: total > 0 ? count / total : 0 })),
      );
    return {
      included: this.included,
      perLayer: Object.fromEntries([...this.perLayer].map(([name, summaries]) => [name, summaries.map((summary, layer) => summary.summarize(layer))])),
      perHeadMeans: Object.fromEntries(
        [...this.perHeadSums].map(([name, sums]) => {
          const tokens = this.perHeadCounts.get(name)!;
          return [name, Array.from(sums, (sum) => (tokens > 0 ? sum / tokens : null))];
        }),
      ),
      ...(this.columns.some((column) => column.summarizedFrom !== undefined)
        ? {
            perHeadTokens: Object.fromEntries(
              this.columns.filter((column) => column.summarizedFrom !== undefined).map((column) => [column.name, this.perHeadCounts.get(column.name)!]),
            ),
          }
        : {}),
      ...(this.columns.some((column) => column.name === MASSIVE_DIM)
        ? { massiveDims: { included: topDims(this.dimCounts.included, this.included), positionZero: topDims(this.dimCounts.first, this.firstPositions) } }
        : {}),
      positionZeroNorms: Object.fromEntries(
        this.normColumns.map((name, c) => [name, Array.from(this.firstNormSums[c]!, (sum) => (this.firstPositions > 0 ? sum / this.firstPositions : null))]),
      ),
      ...(this.sequenceColumns.length > 0
        ? {
            sequences: {
              sequences: this.sequences,
              perLayer: Object.fromEntries(
                [...this.perSequence].map(([name, summaries]) => [name, summaries.map((summary, layer) => summary.summarize(layer))]),
              ),
              withMassive: shares(this.withMassive, this.sequences),
            },
          }
        : {}),
      ...(this.lens
        ? { lens: { tokens: this.lens.tokens, top1: shares(this.lens.top1, this.lens.tokens), top10: shares(this.lens.top10, this.lens.tokens) } }
        : {}),
    };
  }
}

/** count / total per entry; null when there is no token. */
function shares(counts: Float64Array, total: number): Array<number | null> {
  return Array.from(counts, (count) => (total > 0 ? count / total : null));
}
