/**
 * Bootstrap over prompts for growth fits. The per-layer statistics share their prompts, so
 * their errors are correlated across layers and the regression interval (which treats layers
 * as independent points) is too narrow whenever prompts differ in how fast they grow.
 * Resampling whole sequences with replacement keeps that correlation: each resample draws as
 * many sequences as there are, recomputes every layer's statistic, and refits.
 */
import { InputError } from '../errors.js';
import { PrefixSums } from './least-squares.js';
import { quantileSorted } from './norm-statistics.js';
import type { Segment } from './phase-segmentation.js';
import { createUniform } from './seeded-random.js';

export interface BootstrapInput {
  /** Per-layer statistic ([layer] in the fitted range) with each sequence counted weights[s] times. */
  evaluate: (weights: Float64Array) => number[];
  /** Total number of sequences (length of the weight vector). */
  sequenceCount: number;
  /** Sequences that have tokens in the fitted range; only these are drawn. */
  drawable: readonly number[];
  layers: readonly number[];
  segments: readonly Segment[];
  samples: number;
  seed: number;
  /** For error messages. */
  label: string;
}

/** Resampled slopes of ln(statistic) on layer: the whole range, and each segment with its breakpoints kept. */
export interface BootstrapSlopes {
  overall: number[];
  /** The slope through the range's two end layers (the endpoints estimator). */
  endpoints: number[];
  /** [segment][sample] */
  segments: number[][];
}

export function bootstrapSlopes(input: BootstrapInput): BootstrapSlopes {
  const { drawable, layers, segments } = input;
  const uniform = createUniform(input.seed);
  const weights = new Float64Array(input.sequenceCount);
  const overall: number[] = [];
  const endpoints: number[] = [];
  const perSegment: number[][] = segments.map(() => []);
  for (let sample = 0; sample < input.samples; sample += 1) {
    weights.fill(0);
    for (let draw = 0; draw < drawable.length; draw += 1) {
      weights[drawable[Math.floor(uniform() * drawable.length)]!]! += 1;
    }
    const values = input.evaluate(weights);
    const bad = values.findIndex((value) => !(value > 0));
    if (bad >= 0) {
      throw new InputError(
        `${input.label}: bootstrap resample ${sample + 1} has a non-positive statistic at layer ${layers[bad]} (${values[bad]}); use --bootstrap 0, --stat mean or other --layers`,
      );
    }
    const sums = new PrefixSums(layers, values.map(Math.log));
    overall.push(sums.fit(0, layers.length).slope);
    endpoints.push(endpointSlope(layers, values));
    segments.forEach((segment, k) => perSegment[k]!.push(sums.fit(segment.start, segment.end).slope));
  }
  return { overall, endpoints, segments: perSegment };
}

/** Slope of ln(value) through the first and last layer: ln(v_b / v_a) / (b − a). */
export function endpointSlope(layers: readonly number[], values: readonly number[]): number {
  const last = layers.length - 1;
  return Math.log(values[last]! / values[0]!) / (layers[last]! - layers[0]!);
}

/** Central percentile interval of a sample: [q((1 − c)/2), q((1 + c)/2)]. */
export function percentileInterval(sample: readonly number[], confidence: number): [number, number] {
  const sorted = Float64Array.from(sample).sort();
  return [quantileSorted(sorted, (1 - confidence) / 2), quantileSorted(sorted, (1 + confidence) / 2)];
}

export function standardDeviation(sample: readonly number[]): number {
  const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
  return Math.sqrt(sample.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(1, sample.length - 1));
}
