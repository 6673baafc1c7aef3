/**
 * The cost of `measure --diagnostics`: each selection as a real `measure` run in its own
 * process, interleaved round by round with a norms-only run, on one intra-op thread, timed by
 * the process's CPU seconds over the whole run (start-up, batches, tables). On a shared machine
 * wall-clock ratios of such close runs swing by ±20 % with the load; one thread's CPU time
 * counts the work itself. The least of each scenario's runs counts. The logit lens (an
 * unembedding per layer: minutes per run, and no target) runs in the first round only, and its
 * peak RSS is reported against the norms-only run's: one stream's logits are what it adds.
 */
import type { Diagnostic } from '../src/results/diagnostics.js';
import { quantileSorted } from '../src/analysis/norm-statistics.js';

export interface DiagnosticScenario {
  label: string;
  diagnostics: Diagnostic[];
  /** Largest accepted ratio to the norms-only run, when the issue sets one. */
  target?: number;
  /** Run in the first round only. */
  firstRoundOnly?: boolean;
  /** Also report its peak RSS ÷ the norms-only run's. */
  memory?: boolean;
}

/** The norms-only run the scenarios are divided by comes first. */
export const DIAGNOSTIC_SCENARIOS: DiagnosticScenario[] = [
  { label: 'norms only', diagnostics: [] },
  { label: 'cosines', diagnostics: ['cosines'] },
  { label: 'massive', diagnostics: ['massive'] },
  { label: 'cosines + massive', diagnostics: ['cosines', 'massive'], target: 1.15 },
  { label: 'massive-median', diagnostics: ['massive-median'] },
  { label: 'massive-sequence', diagnostics: ['massive-sequence'] },
  { label: 'sinks', diagnostics: ['sinks'] },
  { label: 'heads', diagnostics: ['heads'], target: 1.3 },
  { label: 'all but lens', diagnostics: ['cosines', 'massive', 'massive-median', 'massive-sequence', 'sinks', 'heads'] },
  { label: 'lens', diagnostics: ['lens'], firstRoundOnly: true, memory: true },
];

/** The worker's arguments after the common ones: the selection and one thread. */
export function scenarioArguments(scenario: DiagnosticScenario): string[] {
  return [scenario.diagnostics.length > 0 ? scenario.diagnostics.join(',') : 'none', '1'];
}

type Run = Record<string, number>;

export interface CostRow {
  figure: string;
  value: number;
  target: string;
  met: boolean;
}

const peakRss = (runs: readonly Run[]) => Math.max(...runs.map((run) => run.maxRssBytes!));

const cpuPerToken = (run: Run) => run.cpuSeconds! / run.tokens!;

/**
 * A scenario's CPU per token ÷ the norms-only run's of the same round, the median over rounds.
 * Paired by round, since the load of a shared machine drifts between rounds; the median, since
 * one lucky or unlucky run (a norms-only run 20 % faster than its neighbours was seen) would
 * otherwise set the figure, as a ratio of each scenario's fastest run did.
 */
function pairedRatio(runs: readonly Run[], baseRuns: readonly Run[]): number {
  const ratios = runs.map((run, round) => cpuPerToken(run) / cpuPerToken(baseRuns[round]!)).sort((a, b) => a - b);
  return quantileSorted(ratios, 0.5);
}

/** One row per diagnostic scenario: its CPU seconds per token ÷ the norms-only run's (pairedRatio); and the peak RSS ratio of those that ask. */
export function diagnosticCostRows(runs: ReadonlyMap<string, readonly Run[]>): CostRow[] {
  const baseRuns = runs.get(DIAGNOSTIC_SCENARIOS[0]!.label)!;
  return DIAGNOSTIC_SCENARIOS.slice(1).flatMap(({ label, target, memory }) => {
    const ratio = pairedRatio(runs.get(label)!, baseRuns);
    const cpu = {
      figure: `diagnostics ${label} ÷ norms only (CPU, 1 thread)`,
      value: ratio,
      target: target === undefined ? '—' : `≤ ${target}`,
      met: target === undefined || ratio <= target,
    };
    return memory
      ? [cpu, { figure: `diagnostics ${label} ÷ norms only (peak RSS)`, value: peakRss(runs.get(label)!) / peakRss(baseRuns), target: '—', met: true }]
      : [cpu];
  });
}

/** Every run's CPU seconds per token, the least table-writing time and the peak RSS of each scenario, for the JSON report. */
export function diagnosticDetails(
  runs: ReadonlyMap<string, readonly Run[]>,
): Record<string, { cpuSecondsPerToken: number[]; writingSeconds: number; maxRssBytes: number }> {
  return Object.fromEntries(
    [...runs].map(([label, list]) => [
      label,
      {
        cpuSecondsPerToken: list.map((run) => run.cpuSeconds! / run.tokens!),
        writingSeconds: Math.min(...list.map((run) => run.writingSeconds!)),
        maxRssBytes: Math.max(...list.map((run) => run.maxRssBytes!)),
      },
    ]),
  );
}
