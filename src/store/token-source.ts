/**
 * How commands read per-token values, whatever holds them: the Parquet tables of a version-2
 * results file (streamed through DuckDB) or the inline sequences of a version-1 file. Every
 * reader streams one norm column at a time in prompt order, or asks for one prompt's rows, or
 * for the per-prompt sums; none needs all tokens in memory.
 */
import type { DiagnosticColumn } from '../results/diagnostics.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { SequenceNorms } from './result-tables-writer.js';

/** Consecutive token rows (prompt order, then position) with one norm column. */
export interface TokenColumnChunk {
  rows: number;
  prompt: Int32Array;
  position: Int32Array;
  /** Exclusion code (EXCLUSION_CODE of result-tables): nonzero when the token is left out of summaries and fits. */
  excluded: Uint8Array;
  /** [row × nLayers]; float32 as measured (version-1 files hold decimals, kept as float64) */
  values: Float32Array | Float64Array;
}

/** Sums over the included tokens of each prompt, for one norm column. */
export interface PromptSums {
  /** Prompt-file index of each row, ascending. */
  prompts: Int32Array;
  /** Included tokens per prompt. */
  included: Float64Array;
  /** [prompt row × nLayers] */
  sums: Float64Array;
  sumLogs: Float64Array;
  sumSquares: Float64Array;
}

/** Every token of one prompt, for the per-prompt figure. */
export interface PromptTokens {
  ids: number[];
  tokens: string[];
  text: string | undefined;
  /** Exclusion code per position (0: kept). */
  excluded: number[];
  /** [position × nLayers] */
  values: Float32Array | Float64Array;
}

export interface TokenSource {
  nLayers: number;
  /** Prompts present (a shard holds some of the prompt file's). */
  promptCount: number;
  columnChunks(hook: HookName, metric: NormMetric): AsyncIterable<TokenColumnChunk>;
  promptSums(hook: HookName, metric: NormMetric): Promise<PromptSums>;
  /** Undefined when the prompt is not present. */
  promptTokens(prompt: number, hook: HookName, metric: NormMetric): Promise<PromptTokens | undefined>;
  /**
   * Every prompt with its norm columns, in prompt order, for rewriting the tables (slots in
   * `normColumns(hooks, metric)` order): both metrics, or only `metric` when given. With
   * `diagnostics` (the file's `diagnosticColumns`, in table order), each sequence carries those
   * columns too, in the layout the tables writer takes ([column][position][list]); with
   * `sequenceDiagnostics` (the file's per-sequence columns, prompts table), those ([column][list]).
   */
  sequences(
    hooks: readonly HookName[],
    metric?: NormMetric,
    diagnostics?: readonly DiagnosticColumn[],
    sequenceDiagnostics?: readonly DiagnosticColumn[],
  ): AsyncIterable<SequenceNorms>;
}
