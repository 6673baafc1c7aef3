/**
 * The diagnostics of `measure --diagnostics`, computed in float64 from a reference forward
 * pass's block traces (reference-ops.ts BlockTrace) by the definitions, sharing nothing with
 * the graph: cosines from dot products, the median by sorting all |x_i|, sinks by summing the
 * attention pattern, each head's write as the full product z_h·W_O,h of TransformerLens's
 * processed z (the values recomputed without ln1's bias and b_V, as fold_ln and
 * fold_value_biases leave them) or of the module's own z, the logit lens from full logits
 * (reference-lens.ts).
 */
import { diagnosticColumns, sequenceDiagnosticColumns, type DiagnosticSelection, type DiagnosticShape } from '../../src/results/diagnostics.js';
import type { ReferenceLens } from './reference-lens.js';
import type { BlockTrace } from './reference-ops.js';

/** [column name] → [position][list index] */
export type ReferenceDiagnostics = Map<string, number[][]>;

const dot = (a: Float64Array, b: Float64Array) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);
const centered = (a: Float64Array) => {
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  return a.map((value) => value - mean);
};
const cosine = (a: Float64Array, b: Float64Array) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));

/** Per-layer value of one statistic at one position of one block. */
function massiveStatistic(x: Float64Array, statistic: string, massiveDims: readonly number[]): number {
  const magnitudes = Array.from(x, Math.abs);
  const sorted = [...magnitudes].sort((a, b) => b - a);
  const max = sorted[0]!;
  const d = x.length;
  const median = d % 2 === 1 ? sorted[(d - 1) / 2]! : (sorted[d / 2 - 1]! + sorted[d / 2]!) / 2;
  const total = dot(x, x);
  switch (statistic) {
    case 'max':
      return max;
    case 'dim':
      return magnitudes.indexOf(max);
    case 'ratio':
      return max / median;
    case 'top1_share':
      return (max * max) / total;
    case 'top10_share':
      return sorted.slice(0, 10).reduce((sum, value) => sum + value * value, 0) / total;
    case 'norm_without':
      return Math.sqrt(Array.from(x).reduce((sum, value, i) => sum + (massiveDims.includes(i) ? 0 : value * value), 0));
    default:
      throw new Error(`reference: no massive statistic ${statistic}`);
  }
}

/** Each head's write z_h·W_O,h into the residual, [head] → dModel vector. */
function headWrites(z: Float64Array, trace: BlockTrace, nHeads: number, dModel: number): Float64Array[] {
  const dHead = z.length / nHeads;
  return Array.from({ length: nHeads }, (_, head) => {
    const write = new Float64Array(dModel);
    for (let i = 0; i < dHead; i += 1) {
      const row = head * dHead + i; // input feature of the output projection
      for (let o = 0; o < dModel; o += 1) {
        const weight = trace.outLayout === 'in_out' ? trace.outWeight[row * dModel + o]! : trace.outWeight[o * nHeads * dHead + row]!;
        write[o]! += z[i + head * dHead]! * weight;
      }
    }
    return write;
  });
}

/** Every column of the selection, from one prompt's block traces (one per layer) and, for the lens, its reference lens. */
export function referenceDiagnostics(
  traces: readonly BlockTrace[],
  selection: DiagnosticSelection,
  shape: DiagnosticShape,
  lens?: ReferenceLens,
): ReferenceDiagnostics {
  const { nHeads, dModel } = shape;
  const positions = traces[0]!.residPre.length;
  const result: ReferenceDiagnostics = new Map();
  for (const column of diagnosticColumns(selection, shape)) {
    if (column.diagnostic === 'lens') {
      if (lens === undefined) throw new Error('reference: the lens needs the model head (referenceLens)');
      result.set(column.name, column.name === 'lens_entropy' ? lens.entropy : lens.rank);
      continue;
    }
    const rows: number[][] = Array.from({ length: positions }, () => []);
    traces.forEach((trace) => {
      for (let p = 0; p < positions; p += 1) {
        const values = ((): number[] => {
          const cos = column.name.match(/^cos_(attn_resid_pre|mlp_resid_mid|block_resid_pre)_(raw|centered)$/);
          if (cos) {
            const [a, b] =
              cos[1] === 'attn_resid_pre'
                ? [trace.attnOut[p]!, trace.residPre[p]!]
                : cos[1] === 'mlp_resid_mid'
                  ? [trace.mlpOut[p]!, trace.residMid![p]!]
                  : [trace.attnOut[p]!.map((value, i) => value + trace.mlpOut[p]![i]!), trace.residPre[p]!];
            return [cos[2] === 'raw' ? cosine(a, b) : cosine(centered(a), centered(b))];
          }
          if (column.name === 'massive_median_ratio') return [massiveStatistic(trace.residPost[p]!, 'ratio', [])];
          if (column.name.startsWith('massive_'))
            return [massiveStatistic(trace.residPost[p]!, column.name.slice('massive_'.length), selection.massiveDims ?? [])];
          // Sinks: the attention on key 0, and on keys 0…k − 1 summed (Xiao et al.'s first k tokens).
          if (column.name === 'sink_mass') return trace.pattern.map((perQuery) => perQuery[p]![0]!);
          const firstK = column.name.match(/^sink_mass_first_(\d+)$/);
          if (firstK) return trace.pattern.map((perQuery) => perQuery[p]!.slice(0, Number(firstK[1])).reduce((a, b) => a + b, 0));
          // Head writes: TransformerLens's hook_result, from its processed z (value biases folded into b_O) unless asked otherwise.
          const z = (selection.headValueBiases ?? 'folded') === 'folded' ? trace.zFolded : trace.z;
          const writes = headWrites(z[p]!, trace, nHeads, dModel);
          const norm = (v: Float64Array) => Math.sqrt(dot(v, v));
          if (column.name === 'head_write_raw') return writes.map(norm);
          if (column.name === 'head_write_centered') return writes.map((write) => norm(centered(write)));
          throw new Error(`reference: no diagnostic column ${column.name}`);
        })();
        rows[p]!.push(...values);
      }
    });
    result.set(column.name, rows);
  }
  return result;
}

/**
 * Sun et al.'s per-sequence statistics (massive-activations, main_llm.py exp2), from one prompt's
 * block traces: per layer, over every token × channel of resid_post, `torch.sort(feat_abs.flatten(),
 * descending=True)`'s first three values and `torch.median(feat_abs)` (the lower middle value of
 * an even count), their ratio, and the activations with |x| > 100 and |x| ≥ 1000 × the median
 * (the paper's "exceeds 100 and about 1,000 times the median"). [column name] → [layer]
 */
export function referenceSequenceDiagnostics(traces: readonly BlockTrace[], selection: DiagnosticSelection, shape: DiagnosticShape): Map<string, number[]> {
  const result = new Map<string, number[]>();
  const columns = sequenceDiagnosticColumns(selection, shape);
  if (columns.length === 0) return result;
  const perLayer = traces.map((trace) => {
    const magnitudes = trace.residPost.flatMap((row) => Array.from(row, Math.abs));
    const descending = [...magnitudes].sort((a, b) => b - a);
    const ascending = [...magnitudes].sort((a, b) => a - b);
    const median = ascending[Math.floor((ascending.length - 1) / 2)]!;
    return {
      top1: descending[0]!,
      top2: descending[1]!,
      top3: descending[2]!,
      median,
      ratio: descending[0]! / median,
      count: magnitudes.filter((value) => value > 100 && value >= 1000 * median).length,
    };
  });
  for (const column of columns) {
    const statistic = column.name.slice('massive_seq_'.length) as keyof (typeof perLayer)[number];
    result.set(
      column.name,
      perLayer.map((values) => values[statistic]),
    );
  }
  return result;
}

/** |largest − second largest| / largest of |x_i|: how clearly one dimension is the maximum. */
export function maxMargin(x: Float64Array): number {
  const sorted = Array.from(x, Math.abs).sort((a, b) => b - a);
  return (sorted[0]! - sorted[1]!) / sorted[0]!;
}
