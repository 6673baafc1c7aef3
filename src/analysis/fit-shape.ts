/**
 * Whether one exponential describes a fitted range (docs/fit.md, "One exponential or
 * phases"). It does not when either
 *   - the least-squares line explains less than R2_THRESHOLD of the variance of ln(statistic)
 *     (a profile with a jump, like block 0 of most models, or a bend), or
 *   - the phase criterion (BIC) splits the range and two neighbouring phases have disjoint 95%
 *     intervals of their growth (clean data with two regimes can have R² 0.99).
 * The bootstrap interval of the overall rate measures prompt sampling, not misfit, so it
 * cannot say this. The verdict says what it rests on, so a reader can judge it.
 */
import type { FitShape, GrowthPhase } from '../results/fit-schema.js';
import { formatGrowth, formatInterval, formatPhase, formatR2 } from '../messages/numbers.js';

/** Below this R² the range is not called one exponential. */
export const R2_THRESHOLD = 0.95;

function describePhase(phase: GrowthPhase): string {
  return `${formatPhase(phase)} (${formatInterval(phase.ciLow, phase.ciHigh)})`;
}

/** The step between consecutive layers that departs most from the fitted growth, in log terms. */
function largestDeparture(layers: readonly number[], values: readonly number[], growth: number): string {
  let worst = 1;
  for (let i = 2; i < layers.length; i += 1) {
    const step = (k: number) => Math.abs(Math.log(values[k]! / values[k - 1]!) / (layers[k]! - layers[k - 1]!) - Math.log(growth));
    if (step(i) > step(worst)) worst = i;
  }
  const ratio = (values[worst]! / values[worst - 1]!) ** (1 / (layers[worst]! - layers[worst - 1]!));
  return `layer ${layers[worst - 1]}→${layers[worst]} ${formatGrowth(ratio)} against ${formatGrowth(growth)} fitted`;
}

export function judgeShape(
  fit: { phases: readonly GrowthPhase[]; r2: number; growth: number },
  layers: readonly number[],
  values: readonly number[],
): FitShape {
  const { phases, r2, growth } = fit;
  const distinct = phases.slice(1).flatMap((phase, k) => {
    const before = phases[k]!;
    return before.ciHigh < phase.ciLow || before.ciLow > phase.ciHigh ? [`${describePhase(before)} then ${describePhase(phase)}`] : [];
  });
  const reasons: string[] = [];
  if (r2 < R2_THRESHOLD)
    reasons.push(
      `the line explains ${(100 * r2).toFixed(0)}% of the variance of ln(statistic) (R² ${formatR2(r2)} < ${R2_THRESHOLD}); largest departure: ${largestDeparture(layers, values, growth)}`,
    );
  if (distinct.length > 0) reasons.push(`${phases.length} phases with different rates (disjoint 95% intervals): ${distinct.join('; ')}`);
  if (reasons.length > 0) return { oneExponential: false, reason: reasons.join('; and ') };
  const split =
    phases.length === 1 ? 'the phase criterion (BIC) prefers one line' : `BIC splits the range into ${phases.length} phases, but their 95% intervals overlap`;
  return { oneExponential: true, reason: `${split}; R² ${formatR2(r2)}` };
}
