/**
 * The weights file written by `resid-norms weights`: norms of every block's weights, read
 * straight from the safetensors files, in two variants — `raw` (as stored) and `processed`
 * (after TransformerLens's default weight processing, the convention of the reference
 * analysis). One zod schema is both the TypeScript type and the validator. Fields may be
 * added; existing ones keep their meaning. docs/weights.md defines every quantity.
 */
import { z } from 'zod';
import { ModelInfoSchema } from './schema.js';

export const WEIGHTS_FORMAT = 'resid-norms/weights';
export const WEIGHTS_VERSION = 1;

const norm = z.number().nonnegative();
/** null: the model has no such tensor (e.g. no attention output bias), and nothing folds into it. */
const optionalNorm = norm.nullable();

export const WEIGHT_VARIANTS = ['raw', 'processed'] as const;
export const WeightVariantSchema = z.enum(WEIGHT_VARIANTS);
export type WeightVariant = z.infer<typeof WeightVariantSchema>;

/** Per-layer Frobenius (matrices) or L2 (vectors) norms; a per-head quantity's layer value is the norm of all its heads together. */
export const WeightNormsSchema = z.object({
  W_Q: norm,
  W_K: norm,
  W_V: norm,
  W_O: norm,
  /** √(Σ_h ‖W_V^h W_O^h‖_F²) over query heads. */
  W_OV: norm,
  b_O: optionalNorm,
  /** Dense MLP: the input projection; gated MLP: the up projection (TransformerLens's W_in). */
  W_in: norm,
  /** Gated MLPs only: the gate projection. */
  W_gate: norm.optional(),
  /** Mixtures of experts only: the router, one logit per expert (processed: the norm's gain folded in, as into W_gate). */
  W_router: norm.optional(),
  /** The MLP's output (down) projection. */
  W_out: norm,
  b_in: optionalNorm,
  b_gate: optionalNorm.optional(),
  b_out: optionalNorm,
  /** ‖W_in·W_out‖_F, the dModel×dModel map of the MLP without its nonlinearity (the reference's MLP appendix); absent in files of older versions. */
  W_inW_out: norm.optional(),
  /** ‖b_in·W_out‖₂ (null: no b_in, and no norm bias folds into it); absent in files of older versions. */
  b_inW_out: optionalNorm.optional(),
  /**
   * Post-sublayer norms (Gemma 2): the gain (as the model applies it), its mean and the bias of
   * the norm on attention's (ln1_post) and the MLP's (ln2_post) output before the residual add.
   * Processing leaves them as they are (TransformerLens folds only the norms before a sub-block),
   * so both variants have them; absent for models without such norms.
   */
  'ln1_post.w': norm.optional(),
  'ln1_post.w_mean': z.number().optional(),
  'ln1_post.b': optionalNorm.optional(),
  'ln2_post.w': norm.optional(),
  'ln2_post.w_mean': z.number().optional(),
  'ln2_post.b': optionalNorm.optional(),
  /**
   * The norms of the queries and keys before rotary (Qwen3 and Gemma 3 per head, OLMo-2 over the
   * whole projection): ‖gain‖ (as the model applies it: Gemma 3's 1 + w) and its mean; as for the
   * post-sublayer norms processing leaves them, so both variants have them; absent without them.
   */
  'q_norm.w': norm.optional(),
  'q_norm.w_mean': z.number().optional(),
  'k_norm.w': norm.optional(),
  'k_norm.w_mean': z.number().optional(),
});
export type WeightNorms = z.infer<typeof WeightNormsSchema>;

/**
 * Raw weights also have the parameters of the norms before each sub-block (processing folds them
 * into the weights that read them), as the model applies them (Gemma: 1 + w); null for a model
 * without such a norm (post-only norms).
 */
export const RawWeightNormsSchema = WeightNormsSchema.extend({
  'ln1.w': optionalNorm,
  'ln1.w_mean': z.number().nullable(),
  'ln1.b': optionalNorm,
  'ln2.w': optionalNorm,
  'ln2.w_mean': z.number().nullable(),
  'ln2.b': optionalNorm,
});
export type RawWeightNorms = z.infer<typeof RawWeightNormsSchema>;

/**
 * Mixtures of experts: each expert's MLP norms, in expert order (the layer's W_in, W_gate,
 * W_out, … are the norm of all experts together, √(Σ_e ‖·^e‖²)); null where an expert has no
 * such bias.
 */
export const ExpertNormsSchema = z.object({
  W_in: z.array(norm),
  W_gate: z.array(norm).optional(),
  W_out: z.array(norm),
  b_in: z.array(optionalNorm),
  b_gate: z.array(optionalNorm).optional(),
  b_out: z.array(optionalNorm),
  W_inW_out: z.array(norm).optional(),
  b_inW_out: z.array(optionalNorm).optional(),
});
export type ExpertNorms = z.infer<typeof ExpertNormsSchema>;

/** Per head: W_Q, W_O and W_OV per query head (nHeads); W_K and W_V per key/value head (nKvHeads). */
export const HeadNormsSchema = z.object({
  W_Q: z.array(norm),
  W_K: z.array(norm),
  W_V: z.array(norm),
  W_O: z.array(norm),
  W_OV: z.array(norm),
});
export type HeadNorms = z.infer<typeof HeadNormsSchema>;

export const WeightLayerSchema = z.object({
  layer: z.number().int().nonnegative(),
  raw: RawWeightNormsSchema,
  processed: WeightNormsSchema,
  heads: z.object({ raw: HeadNormsSchema, processed: HeadNormsSchema }),
  /** Mixtures of experts only. */
  experts: z.object({ raw: ExpertNormsSchema, processed: ExpertNormsSchema }).optional(),
});
export type WeightLayer = z.infer<typeof WeightLayerSchema>;

/** What `processed` did to the weights (TransformerLens: fold_ln, center_writing_weights, fold_value_biases). */
export const WeightProcessingSchema = z.object({
  /** Multiply the weights reading a norm's output (W_Q, W_K, W_V; W_in, W_gate) by its gain. */
  foldNormGains: z.boolean(),
  /** Add the norm's bias, read through those weights, to their biases. */
  foldNormBiases: z.boolean(),
  /** Remove the mean over dModel from W_Q, W_K, W_V, W_in, which read a LayerNorm's mean-zero output (W_gate is left, as TransformerLens does). */
  centerReadingWeights: z.boolean(),
  /** Remove the mean over dModel from W_O, b_O, W_out, b_out. */
  centerWritingWeights: z.boolean(),
  /** Move b_V · W_O into b_O: attention patterns sum to 1, so it is added whatever the pattern. */
  foldValueBiases: z.boolean(),
});
export type WeightProcessing = z.infer<typeof WeightProcessingSchema>;

export const WeightsModelInfoSchema = ModelInfoSchema.extend({
  nKvHeads: z.number().int().positive(),
  dHead: z.number().int().positive(),
  dMlp: z.number().int().positive(),
  /** 'moe': a mixture of experts (Mixtral); dMlp is each expert's. */
  mlp: z.enum(['dense', 'gated', 'moe']),
  /** Mixtures of experts: how many experts a block has, and how many each token uses. */
  experts: z.object({ count: z.number().int().positive(), perToken: z.number().int().positive() }).optional(),
});
export type WeightsModelInfo = z.infer<typeof WeightsModelInfoSchema>;

export const WeightsFileSchema = z.looseObject({
  format: z.literal(WEIGHTS_FORMAT),
  version: z.literal(WEIGHTS_VERSION),
  model: WeightsModelInfoSchema,
  options: z.looseObject({
    /** The variant that tables, fits and figures use unless told otherwise. */
    primaryVariant: WeightVariantSchema,
    primaryVariantReason: z.string(),
    processing: WeightProcessingSchema,
  }),
  runtime: z.looseObject({ seconds: z.number().nonnegative(), bytesRead: z.number().int().nonnegative() }),
  layers: z.array(WeightLayerSchema),
  createdBy: z.object({ tool: z.string(), version: z.string() }).optional(),
});
export type WeightsFile = z.infer<typeof WeightsFileSchema>;

/** Every per-layer quantity of a weights file, by its stable name (the keys of `raw`; `processed` has all but the norms' own). */
export const WEIGHT_SERIES = RawWeightNormsSchema.keyof().options;
export const WeightSeriesNameSchema = RawWeightNormsSchema.keyof();
export type WeightSeriesName = z.infer<typeof WeightSeriesNameSchema>;
