/**
 * How the numbers of a growth fit are written wherever a person reads them — the tables, the
 * figures, the report, JUnit, the verdicts stored in fit files: one precision per quantity.
 * Growth factors per layer (fitted, per phase, or measured between two layers) and their
 * interval bounds have four decimals, enough to tell ×1.0450 from ×1.0431; R² has four too, so
 * 0.9981 and 0.9998 differ.
 */

const FACTOR_DECIMALS = 4;
const R2_DECIMALS = 4;

/** "1.0450": a growth factor per layer, or an interval bound of one. */
export function formatFactor(value: number): string {
  return value.toFixed(FACTOR_DECIMALS);
}

/** "×1.0450" */
export function formatGrowth(value: number): string {
  return `×${formatFactor(value)}`;
}

/** "1.0431–1.0469" */
export function formatInterval(low: number, high: number): string {
  return `${formatFactor(low)}–${formatFactor(high)}`;
}

/** "0.9981" */
export function formatR2(r2: number): string {
  return r2.toFixed(R2_DECIMALS);
}

/** "0–4 ×1.3021": a phase's layers and growth. */
export function formatPhase(phase: { fromLayer: number; toLayer: number; growth: number }): string {
  return `${phase.fromLayer}–${phase.toLayer} ${formatGrowth(phase.growth)}`;
}

/** "0–4 ×1.3021, 5–11 ×1.0490", joined by `separator`. */
export function formatPhases(phases: ReadonlyArray<{ fromLayer: number; toLayer: number; growth: number }>, separator: string): string {
  return phases.map(formatPhase).join(separator);
}
