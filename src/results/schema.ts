/**
 * The results file: the interchange format between `measure` and everything downstream
 * (fit, plot, report, merge). One zod schema is both the TypeScript type and the validator,
 * so the two cannot drift apart. Fields may be added; existing ones keep their meaning.
 */
import { z } from 'zod';
import { HOOK_NAMES, NORM_METRICS } from '../vocabulary/hooks.js';

export const MEASUREMENT_FORMAT = 'resid-norms/measurement';
/** Version 2 keeps per-token values in Parquet tables beside the file; version 1 kept them inline (still read). */
export const MEASUREMENT_VERSION = 2;

export const HookNameSchema = z.enum(HOOK_NAMES);
export const NormMetricSchema = z.enum(NORM_METRICS);

const count = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();
/**
 * The largest float32. Every per-token value is a float32 of the graph's, so no norm, mean or
 * other statistic of them can exceed it: a larger one is a tampered file, refused here before a
 * figure squares or sums it into Infinity.
 */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** A norm: finite and non-negative (NaN/Inf are refused at measurement time), within float32. */
const norm = z.number().nonnegative().max(FLOAT32_MAX);

/** [layer][position] */
const perLayerPerPosition = z.array(z.array(norm));
const hookTable = z.partialRecord(HookNameSchema, perLayerPerPosition);

export const ModelInfoSchema = z.object({
  id: z.string().min(1),
  /** Commit sha for Hub models; null for local folders without one. */
  revision: z.string().nullable(),
  architecture: z.string().min(1),
  // The largest models `measure` accepts (src/architectures/config-reader.ts), so a readers'
  // allocation by layer is bounded whatever a file claims.
  nLayers: positiveInt.max(1024),
  dModel: positiveInt.max(65_536),
  nHeads: positiveInt.max(1024),
  /** dtype of the stored weights (F32, F16, BF16); the graph computes in float32. */
  dtype: z.string(),
  nCtx: positiveInt.optional(),
  dVocab: positiveInt.optional(),
  bosTokenId: z.number().int().nullable().optional(),
  normalization: z.enum(['layernorm', 'rmsnorm']).optional(),
  /** Parallel-residual blocks (GPT-NeoX, GPT-J) have no resid_mid. */
  parallelResidual: z.boolean().optional(),
  parameters: count.optional(),
  /**
   * What the model is, by content: the commit sha of a Hub model, `sha256:<hex>` of a local
   * folder's config and weights (absent in files written before it existed). Merges and sweeps
   * tell models apart by it, not by their names.
   */
  contentId: z
    .string()
    .regex(/^([0-9a-f]{40}|sha256:[0-9a-f]{64})$/, 'a commit sha or sha256:<64 hex digits>')
    .optional(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const PromptsInfoSchema = z.object({
  source: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  count: count,
});
export type PromptsInfo = z.infer<typeof PromptsInfoSchema>;

export const MeasureOptionsSchema = z.looseObject({
  prependBos: z.boolean(),
  /** Positions left out of every sequence's summaries and fits: [0] by default. Kept per token. */
  excludePositions: z.array(count),
  /** Token ids left out wherever they occur (the model's BOS, EOS and padding), with their text. Absent in files before it existed. */
  excludeTokens: z.array(z.object({ id: count, token: z.string() })).optional(),
  /** EOS tokens appended to each prompt (`--append-eos`): measured, drawn apart, never summarized. */
  appendEos: count.optional(),
  primaryMetric: NormMetricSchema,
  /** Why that metric is the primary one for this model. */
  primaryMetricReason: z.string().optional(),
  maxTokens: positiveInt.optional(),
  batchSize: positiveInt.optional(),
});
export type MeasureOptions = z.infer<typeof MeasureOptionsSchema>;

export const RuntimeInfoSchema = z.looseObject({
  device: z.string(),
  threads: positiveInt,
  seconds: z.number().nonnegative(),
  tokens: count,
  tokensPerSecond: z.number().nonnegative(),
});
export type RuntimeInfo = z.infer<typeof RuntimeInfoSchema>;

export const SequenceResultSchema = z.object({
  text: z.string().optional(),
  ids: z.array(z.number().int().nonnegative()).min(1),
  tokens: z.array(z.string()),
  /** Centered norms, [layer][position]. */
  norms: hookTable,
  /** Raw norms, [layer][position]. */
  rawNorms: hookTable,
  /** Set when the prompt was cut to the token limit. */
  truncated: z.boolean().optional(),
});
export type SequenceResult = z.infer<typeof SequenceResultSchema>;

/** A statistic of no values is NaN in memory and null in JSON (which has no NaN); read back as NaN. */
const statistic = z
  .number()
  .min(-FLOAT32_MAX)
  .max(FLOAT32_MAX)
  .nullable()
  .transform((value) => value ?? Number.NaN);

/**
 * One layer's distribution of a value over tokens (or, for per-sequence diagnostics, over
 * sequences): `std` is the population standard deviation (ddof 0), √(Σ (x − mean)² / count);
 * the quantiles interpolate linearly between order statistics (numpy's default) up to 16,384
 * values, past that they come from a DDSketch of relative accuracy 2.5e-4
 * (src/analysis/streaming-summary.ts). SUMMARY_STATISTICS says so in every results file.
 */
export const LayerSummarySchema = z.object({
  layer: count,
  count: count,
  mean: statistic,
  /** Population standard deviation: ddof 0 (divided by count, not count − 1). */
  std: statistic,
  median: statistic,
  q05: statistic,
  q25: statistic,
  q75: statistic,
  q95: statistic,
  min: statistic,
  max: statistic,
});
export type LayerSummary = z.output<typeof LayerSummarySchema>;

/** Present in version-1 files written with `measure --shard i/n`. */
export const ShardInfoV1Schema = z.object({
  /** 1-based shard number; at most 10,000 shards, as `--shard` allows. */
  index: positiveInt.max(10_000),
  count: positiveInt.max(10_000),
  /** Positions in the prompt file of the sequences this shard holds, in file order. */
  sequenceIndices: z.array(count),
});

/** Version 1: every per-token value inline, in `sequences`. Read, converted, never written. */
export const MeasurementV1Schema = z.looseObject({
  format: z.literal(MEASUREMENT_FORMAT),
  version: z.literal(1),
  model: ModelInfoSchema,
  prompts: PromptsInfoSchema,
  options: MeasureOptionsSchema,
  runtime: RuntimeInfoSchema,
  hooks: z.array(HookNameSchema).min(1),
  sequences: z.array(SequenceResultSchema),
  /** Per-layer statistics of the primary metric over all non-excluded positions. */
  summary: z.partialRecord(HookNameSchema, z.array(LayerSummarySchema)),
  createdBy: z.object({ tool: z.string(), version: z.string() }).optional(),
  shard: ShardInfoV1Schema.optional(),
});
export type MeasurementV1 = z.infer<typeof MeasurementV1Schema>;

const hookSummaries = z.partialRecord(HookNameSchema, z.array(LayerSummarySchema));

/** A table beside the results file: its file name (same folder; no path) and row count. */
export const TableFileSchema = z.object({
  name: z.string().regex(/^[^/\\]+\.parquet$/, 'a file name ending in .parquet, without folders'),
  rows: count,
});

/** Present in files written with `measure --shard i/n`; `resid-norms merge` removes it. */
export const ShardInfoSchema = z.object({
  /** 1-based shard number; at most 10,000 shards, as `--shard` allows. */
  index: positiveInt.max(10_000),
  count: positiveInt.max(10_000),
});
export type ShardInfo = z.infer<typeof ShardInfoSchema>;

/** What the summaries' statistics are, in words: a results file's `statistics` field. */
export const SUMMARY_STATISTICS = {
  std: 'population standard deviation (ddof 0): √(Σ (x − mean)² / count)',
  quantiles: "linear interpolation between order statistics (numpy's default) up to 16,384 values; past that a DDSketch of relative accuracy 2.5e-4",
} as const;

export const MeasurementSchema = z.looseObject({
  format: z.literal(MEASUREMENT_FORMAT),
  version: z.literal(MEASUREMENT_VERSION),
  model: ModelInfoSchema,
  prompts: PromptsInfoSchema,
  options: MeasureOptionsSchema,
  runtime: RuntimeInfoSchema,
  hooks: z.array(HookNameSchema).min(1),
  /** Rows of the tokens table, and those left out of summaries and fits (with their flag set). */
  tokens: z.object({
    measured: count,
    excluded: count,
    /** The excluded tokens by reason (absent in files before it existed). */
    excludedBy: z.object({ 'position 0': count, 'special token': count, 'appended EOS': count }).optional(),
  }),
  /** Per-layer statistics of the primary metric over all included tokens. */
  summary: hookSummaries,
  /** The same for both metrics. */
  summaries: z.object({ centered: hookSummaries, raw: hookSummaries }),
  /** How every summary's std and quantiles are computed (SUMMARY_STATISTICS); absent in files before it existed, which computed them the same way. */
  statistics: z.object({ std: z.string(), quantiles: z.string() }).optional(),
  /**
   * The per-token and per-prompt tables, in the results file's folder, and the run id their
   * Parquet metadata carries too (absent in files written before it existed).
   */
  tables: z.object({
    tokens: TableFileSchema,
    prompts: TableFileSchema,
    runId: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'a run id of 32 hex digits')
      .optional(),
  }),
  createdBy: z.object({ tool: z.string(), version: z.string() }).optional(),
  shard: ShardInfoSchema.optional(),
});
export type Measurement = z.infer<typeof MeasurementSchema>;
