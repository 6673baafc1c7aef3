/**
 * The cost of `measure --diagnostics`: each selection's measuring time (the batches, as
 * `runtime.seconds` counts them) as a ratio to the norms-only run of the same round plan, with
 * the targets. Every scenario is a real `measure` in its own process, interleaved with
 * the norms-only runs; the fastest run of each counts (other processes only slow a run down).
 */
import type { Diagnostic } from '../src/results/diagnostics.js';

export interface DiagnosticScenario {
  label: string;
  diagnostics: Diagnostic[];
  /** Largest accepted ratio to the norms-only time, when the issue sets one. */
  target?: number;
}

export const DIAGNOSTIC_SCENARIOS: DiagnosticScenario[] = [
  { label: 'cosines', diagnostics: ['cosines'] },
  { label: 'massive', diagnostics: ['massive'] },
  { label: 'cosines + massive', diagnostics: ['cosines', 'massive'], target: 1.15 },
  { label: 'massive-median', diagnostics: ['massive-median'] },
  { label: 'sinks', diagnostics: ['sinks'] },
  { label: 'heads', diagnostics: ['heads'], target: 1.3 },
  { label: 'all', diagnostics: ['cosines', 'massive', 'massive-median', 'sinks', 'heads'] },
];

type Run = Record<string, number>;

const fastestSeconds = (runs: readonly Run[]) => Math.min(...runs.map((run) => run.seconds! / run.tokens!));

export interface CostRow {
  figure: string;
  value: number;
  target: string;
  met: boolean;
}

/** One row per scenario: its fastest seconds per token ÷ the norms-only run's. */
export function diagnosticCostRows(normsOnly: readonly Run[], runs: ReadonlyMap<string, readonly Run[]>): CostRow[] {
  const base = fastestSeconds(normsOnly);
  return DIAGNOSTIC_SCENARIOS.map(({ label, target }) => {
    const ratio = fastestSeconds(runs.get(label)!) / base;
    return { figure: `diagnostics ${label} ÷ norms only (time)`, value: ratio, target: target === undefined ? '—' : `≤ ${target}`, met: target === undefined || ratio <= target };
  });
}

/** Peak RSS and table-writing time of each scenario, for the JSON report. */
export function diagnosticDetails(runs: ReadonlyMap<string, readonly Run[]>): Record<string, { secondsPerToken: number[]; writingSeconds: number; maxRssBytes: number }> {
  return Object.fromEntries(
    [...runs].map(([label, list]) => [
      label,
      {
        secondsPerToken: list.map((run) => run.seconds! / run.tokens!),
        writingSeconds: Math.min(...list.map((run) => run.writingSeconds!)),
        maxRssBytes: Math.max(...list.map((run) => run.maxRssBytes!)),
      },
    ]),
  );
}
