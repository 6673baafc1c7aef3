/**
 * Phases of exponential growth: the best piecewise-linear fit of ln(statistic) on layer,
 * found by exact search over all breakpoints (dynamic programming over prefix sums,
 * O(segments · n²) for n layers), with the number of segments chosen by the Bayesian
 * information criterion unless the caller fixes it.
 *
 * Each segment gets its own line (slope and intercept): segments are not forced to meet at
 * the breakpoints. That keeps the search exact and cheap (segment costs are independent), and
 * real norms do jump between layers (block 0's MLP, the last blocks), which a continuous fit
 * would smear over its neighbours. The step from a segment's last layer to the next segment's
 * first layer belongs to neither slope.
 */
import type { PrefixSums } from './least-squares.js';

export interface SegmentationOptions {
  /** Fewest points in one segment (≥ 3: a line through two points always fits exactly). */
  minSegment: number;
  /** Most segments the criterion may choose. */
  maxSegments: number;
  /** Use exactly this many segments instead of the criterion. */
  segments?: number;
}

/** A segment as half-open point indices [start, end). */
export interface Segment {
  start: number;
  end: number;
}

export interface Segmentation {
  segments: Segment[];
  /** [k − 1] = BIC of the best fit with k segments; null where k segments do not fit in n points. */
  scores: Array<number | null>;
  forced: boolean;
}

/**
 * Parameters charged per segment. Slope, intercept and breakpoint make 3, but choosing each
 * breakpoint by search over every position gains far more likelihood than one parameter's
 * worth when there are few layers: with 3, straight lines with independent noise were split
 * in 28% of simulations at 12 layers. With 5 (calibrated by simulation, docs/fit.md) they were
 * split in 7% at 12 layers, 1% at 24 and 0–0.3% at 48 and 80, and a 1.08 → 1.03 change of
 * rate was found in 97–100% of cases.
 */
export const PARAMETERS_PER_SEGMENT = 5;
/** Residuals below this fraction of the total sum of squares count as an exact fit (no ln 0). */
const RELATIVE_RSS_FLOOR = 1e-10;

/** Most segments of at least `minSegment` points that fit in n points. */
export function maxFeasibleSegments(n: number, minSegment: number): number {
  return Math.floor(n / minSegment);
}

export function segmentLine(sums: PrefixSums, n: number, options: SegmentationOptions): Segmentation {
  const { minSegment } = options;
  if (minSegment < 3) throw new RangeError(`minSegment must be at least 3, got ${minSegment}`);
  const feasible = maxFeasibleSegments(n, minSegment);
  const largest = Math.min(Math.max(options.segments ?? 0, options.maxSegments), feasible);
  if (largest < 1 || (options.segments !== undefined && options.segments > feasible)) {
    throw new RangeError(`${options.segments ?? 1} segments of at least ${minSegment} points do not fit in ${n} points`);
  }

  // cost[k][j]: least RSS of the first j points in k + 1 segments; start[k][j]: where the last begins.
  const cost: Float64Array[] = [];
  const start: Int32Array[] = [];
  for (let k = 0; k < largest; k += 1) {
    const row = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
    const from = new Int32Array(n + 1).fill(-1);
    for (let j = (k + 1) * minSegment; j <= n; j += 1) {
      if (k === 0) {
        row[j] = sums.rss(0, j);
        from[j] = 0;
        continue;
      }
      for (let i = k * minSegment; i <= j - minSegment; i += 1) {
        const candidate = cost[k - 1]![i]! + sums.rss(i, j);
        if (candidate < row[j]!) {
          row[j] = candidate;
          from[j] = i;
        }
      }
    }
    cost.push(row);
    start.push(from);
  }

  const floor = RELATIVE_RSS_FLOOR * sums.rss(0, n) + Number.MIN_VALUE;
  const scores = Array.from({ length: Math.max(options.segments ?? 0, options.maxSegments) }, (_, k) => {
    const rss = cost[k]?.[n];
    if (rss === undefined || !Number.isFinite(rss)) return null;
    // The outer max keeps an exact fit (rss 0, e.g. a constant series) finite: floor / n can underflow to 0.
    return n * Math.log(Math.max(Math.max(rss, floor) / n, Number.MIN_VALUE)) + PARAMETERS_PER_SEGMENT * (k + 1) * Math.log(n);
  });
  const chosen = options.segments ?? bestCount(scores);
  return { segments: traceBack(start, chosen, n), scores, forced: options.segments !== undefined };
}

/** The number of segments with the lowest score; ties go to fewer segments. */
function bestCount(scores: ReadonlyArray<number | null>): number {
  let best = 1;
  scores.forEach((score, k) => {
    if (score !== null && score < scores[best - 1]!) best = k + 1;
  });
  return best;
}

function traceBack(start: readonly Int32Array[], count: number, n: number): Segment[] {
  const segments: Segment[] = [];
  let end = n;
  for (let k = count - 1; k >= 0; k -= 1) {
    const begin = start[k]![end]!;
    segments.unshift({ start: begin, end });
    end = begin;
  }
  return segments;
}
