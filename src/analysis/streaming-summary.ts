/**
 * Per-layer summaries (count, mean, std, quantiles, min, max) of a stream of values whose
 * number is not known in advance and may exceed memory. Count, mean and std are streamed in
 * float64 (Welford's update, which stays accurate when the spread is small next to the mean). Quantiles are exact (numpy's linear interpolation) while at most EXACT_LIMIT values
 * have been seen; past that the values move into a DDSketch (./quantile-sketch.ts) with relative accuracy
 * SKETCH_ACCURACY, whose quantiles lie within that relative distance of an order statistic
 * next to the exact one (tested: ≤ 1e-3 relative against exact quantiles of 10⁶ values).
 */
import { QuantileSketch } from './quantile-sketch.js';
import type { LayerSummary } from '../results/schema.js';
import { quantileSorted } from './norm-statistics.js';

export const EXACT_LIMIT = 16384;
export const SKETCH_ACCURACY = 2.5e-4;

export class StreamingSummary {
  private count = 0;
  private mean = 0;
  /** Sum of squared deviations from the running mean. */
  private deviations = 0;
  private min = Infinity;
  private max = -Infinity;
  private exact: Float64Array | undefined = new Float64Array(256);
  private sketch: QuantileSketch | undefined;

  /** Values left out because they are not finite (a diagnostic ratio over a median of 0). */
  nonFinite = 0;

  /** Add one value; NaN and ±Infinity are counted in `nonFinite` and left out of every statistic. */
  add(value: number): void {
    if (!Number.isFinite(value)) {
      this.nonFinite += 1;
      return;
    }
    this.count += 1;
    const delta = value - this.mean;
    this.mean += delta / this.count;
    this.deviations += delta * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.sketch !== undefined) {
      this.sketch.accept(value);
      return;
    }
    let exact = this.exact!;
    if (this.count > exact.length) {
      if (exact.length >= EXACT_LIMIT) {
        this.sketch = new QuantileSketch(SKETCH_ACCURACY);
        for (const kept of exact) this.sketch.accept(kept);
        this.sketch.accept(value);
        this.exact = undefined;
        return;
      }
      const grown = new Float64Array(Math.min(EXACT_LIMIT, exact.length * 2));
      grown.set(exact);
      this.exact = exact = grown;
    }
    exact[this.count - 1] = value;
  }

  /** Whether the quantiles are exact. */
  get isExact(): boolean {
    return this.sketch === undefined;
  }

  summarize(layer: number): LayerSummary {
    const { count } = this;
    const quantile = this.quantileFunction();
    return {
      layer,
      count,
      mean: count > 0 ? this.mean : Number.NaN,
      std: count > 0 ? Math.sqrt(this.deviations / count) : Number.NaN,
      median: quantile(0.5),
      q05: quantile(0.05),
      q25: quantile(0.25),
      q75: quantile(0.75),
      q95: quantile(0.95),
      min: count > 0 ? this.min : Number.NaN,
      max: count > 0 ? this.max : Number.NaN,
    };
  }

  private quantileFunction(): (q: number) => number {
    if (this.count === 0) return () => Number.NaN;
    if (this.sketch !== undefined) {
      const sketch = this.sketch;
      // Clamped to the observed range, which the sketch's bucket values may overshoot slightly.
      return (q) => Math.min(this.max, Math.max(this.min, sketch.getValueAtQuantile(q)));
    }
    const sorted = this.exact!.slice(0, this.count).sort();
    return (q) => quantileSorted(sorted, q);
  }
}
