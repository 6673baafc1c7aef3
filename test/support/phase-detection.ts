/**
 * How well the fit finds phases and judges "one exponential or not", on synthetic profiles
 * with known breakpoints: shared by scripts/phase-detection.ts (the table in docs/fit.md) and
 * its test, which reruns a few rows.
 */
import type { SyntheticPhase } from './synthetic-measurement.js';
import { syntheticMeasurement } from './synthetic-measurement.js';
import { fitV1 } from './measured.js';

export const PROFILES = {
  /** One exponential: the null case (false positives). */
  straight: (_n: number): SyntheticPhase[] => [{ fromLayer: 0, growth: 1.045 }],
  /** A moderate change of rate halfway, 1.08 → 1.04. */
  moderate: (n: number): SyntheticPhase[] => [
    { fromLayer: 0, growth: 1.08 },
    { fromLayer: n / 2, growth: 1.04 },
  ],
  /** A strong early phase, 1.3 → 1.05 at a quarter of the depth (at least layer 4). */
  strong: (n: number): SyntheticPhase[] => [
    { fromLayer: 0, growth: 1.3 },
    { fromLayer: Math.max(4, n / 4), growth: 1.05 },
  ],
} as const;
export type ProfileName = keyof typeof PROFILES;

/**
 * Noise of the synthetic runs: 30 prompts × 20 tokens; per-token ln-norm noise 0.3 (the spread
 * of log norms around their layer's trend in real runs), a per-prompt offset 0.1, and a
 * per-prompt random walk over layers (each prompt grows at its own pace) of σ per layer.
 */
export const NOISE_LEVELS = { typical: 0.01, high: 0.03 } as const;
export type NoiseLevel = keyof typeof NOISE_LEVELS;

export interface DetectionRates {
  runs: number;
  /** BIC chose more than one phase. */
  split: number;
  /** Two phases, the breakpoint within one layer of the true one (profiles with a break). */
  breakpointFound: number;
  /** The verdict: not one exponential. */
  notOneExponential: number;
}

export function detectionRates(nLayers: number, profile: ProfileName, noise: NoiseLevel, runs: number, firstSeed = 1): DetectionRates {
  const phases = PROFILES[profile](nLayers);
  const trueBreak = phases[1]?.fromLayer;
  const rates: DetectionRates = { runs, split: 0, breakpointFound: 0, notOneExponential: 0 };
  for (let seed = firstSeed; seed < firstSeed + runs; seed += 1) {
    const measurement = syntheticMeasurement({
      nLayers,
      sequences: 30,
      tokensPerSequence: 21,
      hooks: ['resid_pre'],
      phases,
      seed,
      tokenNoise: 0.3,
      sequenceNoise: 0.1,
      sequenceWalk: NOISE_LEVELS[noise],
    });
    const fit = fitV1(measurement, { hook: 'resid_pre', bootstrap: 100, seed });
    if (fit.phases.length > 1) rates.split += 1;
    // A phase starting at the true break, or at the layer before it (the kink lies on both lines).
    if (trueBreak !== undefined && fit.phases.length === 2 && Math.abs(fit.phases[1]!.fromLayer - trueBreak) <= 1) rates.breakpointFound += 1;
    if (fit.shape!.oneExponential === false) rates.notOneExponential += 1;
  }
  return rates;
}
