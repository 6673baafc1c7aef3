/**
 * The in-graph reductions of massive activations (diagnostics-graph.ts puts them in columns):
 * per token, the largest |x_i| of resid_post and how much of ‖x‖ it holds (`massive`), and its
 * ratio to the median |x_i| of the token's own channels (`massive-median`); per sequence, Sun et
 * al.'s statistics over all of its tokens × channels (`massive-sequence`). Each reads one
 * block's resid_post alone, so a graph of a range of blocks computes them the same way.
 */
import { SUN_THRESHOLDS, type MassiveStatistic, type SequenceMassiveStatistic } from '../results/diagnostics.js';
import type { GraphContext } from './graph-context.js';
import { ElementType, int, ints } from './onnx-builder.js';

/** A floor for denominators, so a zero vector gives 0, not NaN (a NaN would reach the barriers). */
export const TINY = 1e-30;
/** Above every finite |x| of float32 activations: the padding the median's selection ranks first. */
const ABOVE_ALL = 3e38;

/**
 * Largest |x_i|, its dimension, the share of ‖x‖² in the top 1 and 10 dimensions, and (with
 * --massive-dims) the norm without those dimensions; one TopK of 10 (a heap) gives the first
 * three. x: [batch·pos, d] → [batch·pos, 1] each
 */
export function massiveStatistics(
  ctx: GraphContext,
  x: string,
  d: number,
  maskOfDims: string | undefined,
  name: string,
): Partial<Record<MassiveStatistic, string>> {
  const g = ctx.g;
  const top = Math.min(10, d);
  const magnitudes = g.node('Abs', [x]);
  const [values, indices] = g.nodeMany('TopK', [magnitudes, g.intConstant([top])], { axis: int(-1), largest: int(1), sorted: int(1) }, [
    `${name}.top_values`,
    `${name}.top_indices`,
  ]);
  const column = (from: number, to: number, source = values!) => g.node('Slice', [source, g.intConstant([from]), g.intConstant([to]), g.intConstant([1])]);
  const max = g.node('Identity', [column(0, 1)], {}, `${name}.max`);
  const dim = g.node('Cast', [column(0, 1, indices!)], { to: int(ElementType.float) }, `${name}.dim`);
  const floor = g.floatConstant([TINY], []);
  const total = g.node('Max', [g.node('ReduceSumSquare', [x], { axes: ints([-1]), keepdims: int(1) }), floor]);
  const top1 = g.node('Div', [g.node('Mul', [max, max]), total], {}, `${name}.top1_share`);
  const top10 = g.node('Div', [g.node('ReduceSumSquare', [column(0, top)], { axes: ints([-1]), keepdims: int(1) }), total], {}, `${name}.top10_share`);
  const result: Partial<Record<MassiveStatistic, string>> = { max, dim, top1_share: top1, top10_share: top10 };
  if (maskOfDims !== undefined) {
    result.norm_without = g.node('ReduceL2', [g.node('Mul', [x, maskOfDims])], { axes: ints([-1]), keepdims: int(1) }, `${name}.norm_without`);
  }
  return result;
}

/**
 * Largest |x_i| ÷ median |x_i|. The median comes from an unsorted TopK of the ⌊d/2⌋ + 1
 * largest |x_i| (a selection): with v sorted descending, its two smallest are v[⌊d/2⌋] and
 * v[⌊d/2⌋ − 1], the median's one or two middle values. ONNX Runtime's selection costs about
 * three d×d matrix products per token (a sorted TopK five). x: [batch·pos, d] → [batch·pos, 1]
 */
export function medianRatio(ctx: GraphContext, x: string, d: number, name: string): string {
  const g = ctx.g;
  const magnitudes = g.node('Abs', [x]);
  const keep = { axes: ints([-1]), keepdims: int(1) };
  const topK = (source: string, k: number, largest: boolean, sorted: boolean, label: string) =>
    g.nodeMany('TopK', [source, g.intConstant([k])], { axis: int(-1), largest: int(largest ? 1 : 0), sorted: int(sorted ? 1 : 0) }, [
      `${name}.${label}`,
      `${name}.${label}_indices`,
    ])[0]!;
  const upperHalf = topK(magnitudes, Math.floor(d / 2) + 1, true, false, 'upper_half');
  const middle = topK(upperHalf, d % 2 === 1 ? 1 : 2, false, false, 'middle'); // v[⌊d/2⌋] (and v[⌊d/2⌋ − 1])
  const median = g.node('ReduceMean', [middle], keep);
  const max = g.node('ReduceMax', [magnitudes], keep);
  return g.node('Div', [max, g.node('Max', [median, g.floatConstant([TINY], [])])], {}, name);
}

/**
 * Sun et al.'s statistics of one sequence's hidden state (main_llm.py exp2): over all its real
 * tokens × channels of x = resid_post, the 3 largest |x| (a sorted TopK of 3), the median |x|
 * as torch.median takes it (the lower middle value: the (⌊n/2⌋ + 1)-th largest of n), their
 * ratio, and how many |x| pass SUN_THRESHOLDS. Padding is kept out of every one: a row's n real
 * values are its first n = length·d (right padding); for the median, one unsorted TopK of
 * K = ⌊N/2⌋ + 1 over the row's N = pos·d values (ONNX Runtime's selection, linear in N) whose
 * smallest is the K-th largest: the first K − (⌊n/2⌋ + 1) padding slots rank above every value
 * and the rest below, so the K-th largest of the row is the median of its real values, for
 * every row at once (K − ⌊n/2⌋ − 1 ≤ N − n whatever n ≤ N). x: [batch·pos, d] → [batch, 1] each
 */
export function sequenceMassive(
  ctx: GraphContext,
  x: string,
  d: number,
  sequence: { tokenShape: string; lengths: string },
  name: string,
): Record<SequenceMassiveStatistic, string> {
  const g = ctx.g;
  const one = g.intConstant([1], []);
  const rows = g.node('Slice', [sequence.tokenShape, g.intConstant([0]), g.intConstant([1]), g.intConstant([0])]); // [1] = [batch]
  const magnitudes = g.node('Reshape', [g.node('Abs', [x]), g.node('Concat', [rows, g.intConstant([-1])], { axis: int(0) })], {}, `${name}.magnitudes`); // [batch, N]
  const width = g.node('Gather', [g.node('Shape', [magnitudes]), g.intConstant([1], [])]); // N
  const flat = g.node('Unsqueeze', [g.node('Range', [g.intConstant([0], []), width, one]), g.intConstant([0])]); // [1, N]
  const real = g.node('Unsqueeze', [g.node('Mul', [sequence.lengths, g.intConstant([d], [])]), g.intConstant([1])]); // [batch, 1] = n
  const two = g.intConstant([2], []);
  const k = g.node('Add', [g.node('Div', [width, two]), one]); // K = ⌊N/2⌋ + 1
  const ranked = g.node('Add', [real, g.node('Sub', [k, g.node('Add', [g.node('Div', [real, two]), one])])]); // n + K − (⌊n/2⌋ + 1)
  const isReal = g.node('Less', [flat, real]);
  const below = g.floatConstant([-1], []);
  const forMedian = g.node('Where', [isReal, magnitudes, g.node('Where', [g.node('Less', [flat, ranked]), g.floatConstant([ABOVE_ALL], []), below])]);
  const upper = g.nodeMany('TopK', [forMedian, g.node('Reshape', [k, g.intConstant([1])])], { axis: int(-1), largest: int(1), sorted: int(0) }, [
    `${name}.upper_half`,
    `${name}.upper_half_indices`,
  ])[0]!;
  const keep = { axes: ints([-1]), keepdims: int(1) };
  const median = g.node('ReduceMin', [upper], keep, `${name}.median`);
  const forTop = g.node('Where', [isReal, magnitudes, below]);
  const top = g.nodeMany('TopK', [forTop, g.intConstant([3])], { axis: int(-1), largest: int(1), sorted: int(1) }, [`${name}.top`, `${name}.top_indices`])[0]!; // [batch, 3]
  const column = (i: number, label: string) => g.node('Slice', [top, g.intConstant([i]), g.intConstant([i + 1]), g.intConstant([1])], {}, `${name}.${label}`);
  const top1 = column(0, 'top1');
  const massive = g.node('And', [
    isReal,
    g.node('And', [
      g.node('Greater', [magnitudes, g.floatConstant([SUN_THRESHOLDS.magnitude], [])]),
      g.node('GreaterOrEqual', [magnitudes, g.node('Mul', [median, g.floatConstant([SUN_THRESHOLDS.timesMedian], [])])]),
    ]),
  ]);
  return {
    top1,
    top2: column(1, 'top2'),
    top3: column(2, 'top3'),
    median,
    ratio: g.node('Div', [top1, g.node('Max', [median, g.floatConstant([TINY], [])])], {}, `${name}.ratio`),
    count: g.node('ReduceSum', [g.node('Cast', [massive], { to: int(ElementType.float) }), g.intConstant([-1])], { keepdims: int(1) }, `${name}.count`),
  };
}
