/**
 * Fixed-size summaries of a run's diagnostic columns, streamed while the tables are written, for
 * the results file and the figures (which never read the tables again): per layer, the
 * distribution of each per-layer value over included tokens; per layer and head, the mean of
 * each per-head value; the dimensions that hold the largest |x_i| most often, over included
 * tokens and at position 0; and each norm column's mean at position 0 (left out of the norm
 * summaries, and the position attention sinks point at).
 */
import { StreamingSummary } from '../analysis/streaming-summary.js';
import type { DiagnosticColumn, DiagnosticSummaries } from '../results/diagnostics.js';

/** How many dimensions per layer the results file names as most often the largest. */
const TOP_DIMENSIONS = 5;

export class DiagnosticSummaryBuilder {
  /** [column][layer] for per-layer columns */
  private readonly perLayer = new Map<string, StreamingSummary[]>();
  /** [column] → sums [layer × nHeads] for per-head columns */
  private readonly perHeadSums = new Map<string, Float64Array>();
  private included = 0;
  private firstPositions = 0;
  /** [layer] → dimension → count, over included tokens and at position 0 */
  private readonly dimCounts: { included: Array<Map<number, number>>; first: Array<Map<number, number>> };
  /** [norm column] → sums [layer] at position 0 */
  private readonly firstNormSums: Float64Array[];

  constructor(
    private readonly columns: readonly DiagnosticColumn[],
    private readonly normColumns: readonly string[],
    private readonly nLayers: number,
  ) {
    for (const column of columns) {
      if (column.kind === 'int32-list') continue;
      if (column.perLayer === 1) this.perLayer.set(column.name, Array.from({ length: nLayers }, () => new StreamingSummary()));
      else this.perHeadSums.set(column.name, new Float64Array(column.length));
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
    let start = 0;
    for (const column of this.columns) {
      const from = start * length + position * column.length;
      start += column.length;
      if (column.kind === 'int32-list') {
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
      if (sums) for (let i = 0; i < column.length; i += 1) sums[i]! += diagnostics[from + i]!;
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
      perHeadMeans: Object.fromEntries([...this.perHeadSums].map(([name, sums]) => [name, Array.from(sums, (sum) => (this.included > 0 ? sum / this.included : null))])),
      ...(this.columns.some((column) => column.kind === 'int32-list')
        ? { massiveDims: { included: topDims(this.dimCounts.included, this.included), positionZero: topDims(this.dimCounts.first, this.firstPositions) } }
        : {}),
      positionZeroNorms: Object.fromEntries(this.normColumns.map((name, c) => [name, Array.from(this.firstNormSums[c]!, (sum) => (this.firstPositions > 0 ? sum / this.firstPositions : null))])),
    };
  }
}
