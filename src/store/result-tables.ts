/**
 * The two Parquet tables beside every results file (same stem): `<stem>.tokens.parquet`, one
 * row per measured token with its norms per hook and metric as a list over layers, and
 * `<stem>.prompts.parquet`, one row per prompt with the sums that per-prompt statistics and the
 * bootstrap need. Column names and types live here, once.
 */
import { basename, dirname, join } from 'node:path';
import { HOOK_NAMES, NORM_METRICS, type HookName, type NormMetric } from '../vocabulary/hooks.js';
import type { DiagnosticColumn } from '../results/diagnostics.js';
import type { ColumnSpec } from './parquet-writer.js';

export const TOKENS_SUFFIX = '.tokens.parquet';
export const PROMPTS_SUFFIX = '.prompts.parquet';

/**
 * The key of the tables' Parquet key-value metadata that holds their run id, which the results
 * file records too (`tables.runId`): files that belong together say so, and readers refuse a
 * results file beside tables of another run.
 */
export const RUN_ID_KEY = 'resid-norms.run_id';

/** Paths of a results file's tables. */
export interface ResultTables {
  tokens: string;
  prompts: string;
}

/** `results/gpt2.json` → `results/gpt2.tokens.parquet`, `results/gpt2.prompts.parquet`. */
export function tablePaths(resultsPath: string): ResultTables {
  const stem = join(dirname(resultsPath), basename(resultsPath).replace(/\.json$/i, ''));
  return { tokens: `${stem}${TOKENS_SUFFIX}`, prompts: `${stem}${PROMPTS_SUFFIX}` };
}

/** `resid_pre_centered`: a hook's norms of one metric, a list over layers. */
export function normColumn(hook: HookName, metric: NormMetric): string {
  return `${hook}_${metric}`;
}

/**
 * Why a token is left out of summaries and fits, as the tokens table's `excluded_as` says it
 * (null when kept). In memory each reason is a code: its index here + 1, 0 for kept.
 */
export const EXCLUSION_REASONS = ['position 0', 'special token', 'appended EOS'] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];
export const EXCLUSION_CODE: Readonly<Record<ExclusionReason, number>> = { 'position 0': 1, 'special token': 2, 'appended EOS': 3 };

/** The reason of a nonzero exclusion code; null for 0 (kept). */
export function exclusionReason(code: number): ExclusionReason | null {
  return code === 0 ? null : (EXCLUSION_REASONS[code - 1] ?? 'special token');
}

/** Per-prompt sums over included tokens: of the norm, of its natural log, of its square. */
export const PROMPT_SUMS = ['sum', 'sum_log', 'sum_sq'] as const;
export type PromptSum = (typeof PROMPT_SUMS)[number];

export function promptSumColumn(hook: HookName, metric: NormMetric, sum: PromptSum): string {
  return `${normColumn(hook, metric)}_${sum}`;
}

/** Every (hook, metric) pair of a run, in column order; only `metric`'s when given. */
export function normColumns(hooks: readonly HookName[], metric?: NormMetric): Array<{ hook: HookName; metric: NormMetric; name: string }> {
  const metrics = metric === undefined ? NORM_METRICS : [metric];
  return HOOK_NAMES.filter((hook) => hooks.includes(hook)).flatMap((hook) => metrics.map((each) => ({ hook, metric: each, name: normColumn(hook, each) })));
}

/** Columns of the tokens table; `diagnostics` (measure --diagnostics) follow the norms. */
export function tokenTableColumns(hooks: readonly HookName[], nLayers: number, diagnostics: readonly DiagnosticColumn[] = []): ColumnSpec[] {
  return [
    { name: 'prompt', kind: 'int32' },
    { name: 'position', kind: 'int32' },
    { name: 'token_id', kind: 'int32' },
    { name: 'token', kind: 'string' },
    { name: 'excluded', kind: 'bool' },
    { name: 'excluded_as', kind: 'string', optional: true },
    ...normColumns(hooks).map(({ name }): ColumnSpec => ({ name, kind: 'float32-list', length: nLayers })),
    ...diagnostics.map(({ name, kind, length }): ColumnSpec => ({ name, kind, length })),
  ];
}

/** Columns of the prompts table; `sequenceDiagnostics` (per-sequence diagnostics, massive-sequence) follow the sums. */
export function promptTableColumns(hooks: readonly HookName[], nLayers: number, sequenceDiagnostics: readonly DiagnosticColumn[] = []): ColumnSpec[] {
  return [
    { name: 'prompt', kind: 'int32' },
    { name: 'tokens', kind: 'int32' },
    { name: 'included', kind: 'int32' },
    { name: 'truncated', kind: 'bool' },
    { name: 'text', kind: 'string', optional: true },
    ...normColumns(hooks).flatMap(({ hook, metric }) =>
      PROMPT_SUMS.map((sum): ColumnSpec => ({ name: promptSumColumn(hook, metric, sum), kind: 'float64-list', length: nLayers })),
    ),
    ...sequenceDiagnostics.map(({ name, kind, length }): ColumnSpec => ({ name, kind, length })),
  ];
}
