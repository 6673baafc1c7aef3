/**
 * A quantile sketch with relative accuracy α (Masson, Rim & Lee, "DDSketch", VLDB 2019): value
 * v > 0 goes to bucket k = ⌈ln v / ln γ⌉ with γ = (1 + α)/(1 − α), and bucket k answers
 * 2γᵏ/(1 + γ), within α of every value in it; negative values mirror it, zero has its own count.
 *
 * Written here rather than taken from @datadog/sketches-js, which this replaced: its stores grow
 * and shift their bins with `push.apply(bins, new Array(n))`, so values spread over a wide range
 * (a norm of 3e38 next to ones of 5, a ratio whose median is 0) overflowed the call stack after a
 * run's last batch, and its collapsing stores could still grow past their bin limit on a jump.
 * Here the bins are a typed array grown by copying, never by spreading, and bounded: a window
 * of MAX_BINS buckets (a factor γ^MAX_BINS ≈ 1.7e14 at α = 2.5e-4) placed where the data is;
 * values beyond it count at its nearer end, so only quantiles among such outliers lose accuracy
 * (min and max are kept exactly beside the sketch).
 */

/** Most buckets per sign: 65,536 float64 counts (512 KiB) at worst, grown as the data needs. */
export const MAX_BINS = 1 << 16;

/** Magnitudes below this count as zero (ln would leave the key range; float32 norms never get here but 0). */
const SMALLEST = 1e-300;

/**
 * Counts of consecutive bucket keys in a window of at most MAX_BINS keys. The window grows to
 * take new keys while it can; a key beyond what it can reach is counted in the bucket at the
 * window's nearer end. The first values (the 16,384 a summary held exactly) place the window
 * where the data is, so a few outliers far away are clamped, not the bulk of the data.
 */
class BucketStore {
  private bins = new Float64Array(0);
  /** Key of bins[0]. */
  private offset = 0;
  private low = 0;
  private high = -1;
  count = 0;

  add(key: number): void {
    if (this.count === 0) {
      this.bins = new Float64Array(64);
      this.offset = key - 32;
      this.low = key;
      this.high = key;
    } else if (key < this.offset || key >= this.offset + this.bins.length) {
      key = this.extend(key);
    }
    if (key < this.low) this.low = key;
    if (key > this.high) this.high = key;
    this.bins[key - this.offset]! += 1;
    this.count += 1;
  }

  /** Room for `key` (a larger array, its contents copied, never spread); returns the key counted: `key`, or the window's end nearer to it. */
  private extend(key: number): number {
    const low = Math.min(this.low, key);
    const high = Math.max(this.high, key);
    const width = high - low + 1;
    if (width > MAX_BINS) {
      if (this.bins.length < MAX_BINS) this.resize(MAX_BINS, key < this.low ? this.high - MAX_BINS + 1 : this.low);
      return Math.min(this.offset + this.bins.length - 1, Math.max(this.offset, key));
    }
    const length = Math.min(MAX_BINS, 2 ** Math.ceil(Math.log2(Math.max(width * 2, 64))));
    this.resize(length, Math.max(Math.min(low - Math.floor((length - width) / 2), low), high - length + 1));
    return key;
  }

  private resize(length: number, offset: number): void {
    const bins = new Float64Array(length);
    bins.set(this.bins.subarray(this.low - this.offset, this.high - this.offset + 1), this.low - offset);
    this.bins = bins;
    this.offset = offset;
  }

  /** The key of the bucket holding the value of rank `rank` (0-based, ascending keys); `lower` as DDSketch's keyAtRank. */
  keyAtRank(rank: number, lower: boolean): number {
    let running = 0;
    for (let k = this.low; k <= this.high; k += 1) {
      running += this.bins[k - this.offset]!;
      if ((lower && running > rank) || (!lower && running >= rank + 1)) return k;
    }
    return this.high;
  }
}

export class QuantileSketch {
  private readonly lnGamma: number;
  private readonly gamma: number;
  private readonly positive = new BucketStore();
  private readonly negative = new BucketStore();
  private zeros = 0;

  constructor(readonly relativeAccuracy: number) {
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.lnGamma = Math.log(this.gamma);
  }

  get count(): number {
    return this.positive.count + this.negative.count + this.zeros;
  }

  /** Add a finite value (NaN and ±Infinity are the caller's to leave out). */
  accept(value: number): void {
    const magnitude = Math.abs(value);
    if (!(magnitude >= SMALLEST)) {
      this.zeros += 1;
      return;
    }
    const key = Math.ceil(Math.log(magnitude) / this.lnGamma);
    (value > 0 ? this.positive : this.negative).add(key);
  }

  private valueOf(key: number): number {
    return (2 * Math.exp(key * this.lnGamma)) / (1 + this.gamma);
  }

  /** The value at quantile q ∈ [0, 1] (rank q · (count − 1)); NaN when empty. */
  getValueAtQuantile(q: number): number {
    const count = this.count;
    if (count === 0) return Number.NaN;
    const rank = q * (count - 1);
    const negatives = this.negative.count;
    if (rank < negatives) return -this.valueOf(this.negative.keyAtRank(negatives - rank - 1, false));
    if (rank < negatives + this.zeros) return 0;
    return this.valueOf(this.positive.keyAtRank(rank - negatives - this.zeros, true));
  }
}
