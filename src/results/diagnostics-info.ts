/**
 * What a results file records of a run's diagnostics (the `diagnostics` block, absent without
 * them): the selection, the columns added, and fixed-size summaries; and its one reader, which
 * reads files written before a field existed as what they measured. The columns themselves are
 * defined in diagnostics.ts.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { DIAGNOSTICS, HEAD_VALUE_BIASES, type DiagnosticSelection } from './diagnostics.js';
import { LayerSummarySchema } from './schema.js';

const statistic = z.number().nullable();

/** Fixed-size summaries of the diagnostic columns (src/store/diagnostic-summaries.ts), what the figures draw. */
export const DiagnosticSummariesSchema = z.object({
  /** Tokens the summaries are over (the included ones). */
  included: z.number().int().nonnegative(),
  /** Per-layer columns: per layer, count, mean, std, median and quantiles over included tokens. */
  perLayer: z.record(z.string(), z.array(LayerSummarySchema)),
  /** Per-head columns: mean over included tokens, [layer × nHeads + head]. */
  perHeadMeans: z.record(z.string(), z.array(statistic)),
  /**
   * Tokens a per-head mean is over where they are not `included`: sink_mass_first_<k> leaves out
   * positions below k, whose queries see only the first k positions (their mass is 1). Absent in
   * files before it existed.
   */
  perHeadTokens: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Per layer, the dimensions most often holding the largest |x_i|, with the share of tokens. */
  massiveDims: z
    .object({
      included: z.array(z.array(z.object({ dim: z.number().int().nonnegative(), share: z.number() }))),
      positionZero: z.array(z.array(z.object({ dim: z.number().int().nonnegative(), share: z.number() }))),
    })
    .optional(),
  /** Each norm column's mean at position 0, per layer (position 0 is left out of the norm summaries). */
  positionZeroNorms: z.record(z.string(), z.array(statistic)),
  /**
   * Per-sequence columns (the prompts table's, massive-sequence): per layer, count, mean, std,
   * median and quantiles over the sequences (every sequence, whatever its tokens' exclusions),
   * and the share of sequences with at least one massive activation (massive_seq_count > 0).
   */
  sequences: z
    .object({
      sequences: z.number().int().nonnegative(),
      perLayer: z.record(z.string(), z.array(LayerSummarySchema)),
      withMassive: z.array(statistic),
    })
    .optional(),
  /**
   * The logit lens, per stream (index i: after i blocks), over included tokens that have a next
   * token (perLayer's lens_entropy and lens_next_rank are over the same tokens): how many, and
   * the share of them whose next token is the top prediction (rank 0) and among the top 10.
   */
  lens: z
    .object({
      tokens: z.number().int().nonnegative(),
      top1: z.array(statistic),
      top10: z.array(statistic),
    })
    .optional(),
});
export type DiagnosticSummaries = z.input<typeof DiagnosticSummariesSchema>;

/** What the results file records of a run with diagnostics (absent otherwise). */
export const DiagnosticsInfoSchema = z.object({
  selected: z.array(z.enum(DIAGNOSTICS)).min(1),
  massiveDims: z.array(z.number().int().nonnegative()).optional(),
  /** With sinks: k of sink_mass_first_<k>. Absent in files before it existed (which measured position 0 alone). */
  sinkTokens: z.number().int().positive().optional(),
  /** With heads: where the value biases went. Absent in files before it existed, which kept them in z ('unfolded'). */
  headValueBiases: z.enum(HEAD_VALUE_BIASES).optional(),
  /** The tokens-table columns they added, in table order. */
  columns: z.array(z.string()),
  /** The prompts-table columns they added (massive-sequence), in table order; absent when none. */
  sequenceColumns: z.array(z.string()).optional(),
  /** With massive-sequence: Sun et al.'s thresholds, as massive_seq_count applies them. */
  massiveThresholds: z.object({ magnitude: z.number(), timesMedian: z.number() }).optional(),
  /** The logit lens's output head: the tensors read (their full keys; a final norm without parameters, OLMo's, named as such) and whether W_U is the token embedding. */
  outputHead: z.object({ finalNorm: z.string().nullable(), unembedding: z.string(), tied: z.boolean() }).optional(),
  summaries: DiagnosticSummariesSchema,
});
export type DiagnosticsInfo = z.input<typeof DiagnosticsInfoSchema>;
export type ReadDiagnostics = z.output<typeof DiagnosticsInfoSchema>;

/**
 * The diagnostics of a results file, validated, or undefined when it has none. (The results
 * schema keeps unknown fields; this is the one reader of this one.) A block that does not
 * match is refused, naming the first problem, rather than read as no diagnostics.
 */
export function readDiagnostics(measurement: { model: { id: string } }): ReadDiagnostics | undefined {
  if (!('diagnostics' in measurement) || measurement.diagnostics === undefined) return undefined;
  const parsed = DiagnosticsInfoSchema.safeParse(measurement.diagnostics);
  if (parsed.success) return withOlderDefaults(parsed.data);
  const issue = parsed.error.issues[0]!;
  throw new InputError(
    `the results file of ${measurement.model.id} has a diagnostics block this resid-norms cannot read (diagnostics.${issue.path.join('.')}: ${issue.message})`,
  );
}

/** A file written before sinkTokens and headValueBiases existed measured position 0 alone and kept the value biases in z. */
function withOlderDefaults(read: ReadDiagnostics): ReadDiagnostics {
  return {
    ...read,
    ...(read.selected.includes('sinks') && read.sinkTokens === undefined ? { sinkTokens: 1 } : {}),
    ...(read.selected.includes('heads') && read.headValueBiases === undefined ? { headValueBiases: 'unfolded' as const } : {}),
  };
}

/** The selection a results file's diagnostics were measured with (merge compares and recomputes from it). */
export function recordedSelection(recorded: ReadDiagnostics): DiagnosticSelection {
  return {
    diagnostics: recorded.selected,
    ...(recorded.massiveDims ? { massiveDims: recorded.massiveDims } : {}),
    ...(recorded.sinkTokens !== undefined ? { sinkTokens: recorded.sinkTokens } : {}),
    ...(recorded.headValueBiases !== undefined ? { headValueBiases: recorded.headValueBiases } : {}),
  };
}
