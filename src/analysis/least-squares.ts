/**
 * Ordinary least squares of y on x with an intercept, in closed form. Growth fits and phase
 * segmentation only ever fit straight lines, so the normal equations are 2×2 and a matrix
 * library would add weight without adding anything. Sums are taken about the means of the
 * points, which keeps them accurate when x is a layer index and y a log norm.
 */

export interface LineFit {
  /** Number of points. */
  n: number;
  slope: number;
  /** Value of the line at x = 0. */
  intercept: number;
  /** Residual sum of squares. */
  rss: number;
  /** Coefficient of determination; 1 when y is constant and fitted exactly. */
  r2: number;
  /** Standard error of the slope (σ̂ / √Sxx with σ̂² = rss / (n − 2)); NaN for n < 3. */
  slopeStdError: number;
}

/** Prefix sums that give the least-squares line of any run of consecutive points in O(1). */
export class PrefixSums {
  // Plain arrays, not Float64Arrays: a bootstrap builds one PrefixSums per resample, and V8
  // gives every typed array of more than 64 bytes its own off-heap buffer, weak handle and
  // finalizer, which cost more than the sums themselves.
  private readonly sx: number[];
  private readonly sy: number[];
  private readonly sxx: number[];
  private readonly sxy: number[];
  private readonly syy: number[];
  /** x and y are shifted by their overall means before summing, against cancellation. */
  private readonly xShift: number;
  private readonly yShift: number;

  constructor(xs: readonly number[], ys: readonly number[]) {
    if (xs.length !== ys.length) throw new RangeError(`x has ${xs.length} points, y has ${ys.length}`);
    const n = xs.length;
    this.xShift = n > 0 ? xs.reduce((a, b) => a + b, 0) / n : 0;
    this.yShift = n > 0 ? ys.reduce((a, b) => a + b, 0) / n : 0;
    const zeros = (): number[] => new Array<number>(n + 1).fill(0);
    this.sx = zeros();
    this.sy = zeros();
    this.sxx = zeros();
    this.sxy = zeros();
    this.syy = zeros();
    for (let i = 0; i < n; i += 1) {
      const x = xs[i]! - this.xShift;
      const y = ys[i]! - this.yShift;
      this.sx[i + 1] = this.sx[i]! + x;
      this.sy[i + 1] = this.sy[i]! + y;
      this.sxx[i + 1] = this.sxx[i]! + x * x;
      this.sxy[i + 1] = this.sxy[i]! + x * y;
      this.syy[i + 1] = this.syy[i]! + y * y;
    }
  }

  /** Least-squares line through points start … end − 1 (half-open). */
  fit(start: number, end: number): LineFit {
    const n = end - start;
    if (n < 2) throw new RangeError(`a line needs at least 2 points, got ${n}`);
    const meanX = (this.sx[end]! - this.sx[start]!) / n;
    const meanY = (this.sy[end]! - this.sy[start]!) / n;
    const sxx = this.sxx[end]! - this.sxx[start]! - n * meanX * meanX;
    const sxy = this.sxy[end]! - this.sxy[start]! - n * meanX * meanY;
    const syy = Math.max(0, this.syy[end]! - this.syy[start]! - n * meanY * meanY);
    if (!(sxx > 0)) throw new RangeError('a line needs at least 2 distinct x values');
    const slope = sxy / sxx;
    const rss = Math.max(0, syy - slope * sxy);
    const intercept = meanY + this.yShift - slope * (meanX + this.xShift);
    const r2 = syy > 0 ? 1 - rss / syy : 1;
    const slopeStdError = n > 2 ? Math.sqrt(rss / (n - 2) / sxx) : Number.NaN;
    return { n, slope, intercept, rss, r2, slopeStdError };
  }

  /** Residual sum of squares of the line through points start … end − 1; the DP's segment cost. */
  rss(start: number, end: number): number {
    const n = end - start;
    const meanX = (this.sx[end]! - this.sx[start]!) / n;
    const meanY = (this.sy[end]! - this.sy[start]!) / n;
    const sxx = this.sxx[end]! - this.sxx[start]! - n * meanX * meanX;
    const sxy = this.sxy[end]! - this.sxy[start]! - n * meanX * meanY;
    const syy = this.syy[end]! - this.syy[start]! - n * meanY * meanY;
    return Math.max(0, syy - (sxx > 0 ? (sxy * sxy) / sxx : 0));
  }
}

/** Least-squares line through all points. */
export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit {
  return new PrefixSums(xs, ys).fit(0, xs.length);
}
