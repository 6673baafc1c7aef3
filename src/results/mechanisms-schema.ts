/**
 * The file written by `resid-norms mechanisms`: per layer, the reference analysis's evidence for
 * why the residual stream grows — what the MLP and the attention's W_OV make of normalised random
 * inputs, next to what the blocks write on real prompts, and how many MLP neurons fire on real,
 * random and resampled inputs. One zod schema is the type and the validator. Fields may be
 * added; existing ones keep their meaning. docs/mechanisms.md defines every quantity.
 */
import { z } from 'zod';
import { ModelInfoSchema } from './schema.js';

export const MECHANISMS_FORMAT = 'resid-norms/mechanisms';
export const MECHANISMS_VERSION = 1;

/** A mean over samples and its standard error (sample standard deviation / √n). */
export const SampleMeanSchema = z.object({ mean: z.number().nonnegative(), stderr: z.number().nonnegative(), n: z.number().int().positive() });
export type SampleMean = z.infer<typeof SampleMeanSchema>;

export const MechanismLayerSchema = z.object({
  layer: z.number().int().nonnegative(),
  /** The real prompts, every included token: mean norms of what the block writes and the MLP's activation rate. */
  measured: z.object({ attn_out: z.number().nonnegative(), mlp_out: z.number().nonnegative(), activationRate: z.number().min(0).max(1) }),
  /** x ~ N(0, I) through the block's input normalisation: ‖MLP‖, ‖Σ_h W_OV^h x‖, activation rate. */
  random: z.object({ mlp_out: SampleMeanSchema, ov: SampleMeanSchema, activationRate: SampleMeanSchema }),
  /** The MLP inputs of sampled real tokens at this layer, through this layer's MLP. */
  sameLayer: z.object({ mlp_out: SampleMeanSchema, activationRate: SampleMeanSchema }),
  /** The MLP inputs of the same sampled tokens at `sourceLayer` (seeded, uniform over layers), through this layer's MLP. */
  randomLayer: z.object({ sourceLayer: z.number().int().nonnegative(), mlp_out: SampleMeanSchema, activationRate: SampleMeanSchema }),
});
export type MechanismLayer = z.infer<typeof MechanismLayerSchema>;

export const MechanismsModelInfoSchema = ModelInfoSchema.extend({
  dMlp: z.number().int().positive(),
  mlp: z.enum(['dense', 'gated']),
  activation: z.string(),
});

export const MechanismsFileSchema = z.looseObject({
  format: z.literal(MECHANISMS_FORMAT),
  version: z.literal(MECHANISMS_VERSION),
  model: MechanismsModelInfoSchema,
  prompts: z.object({ source: z.string(), sha256: z.string(), count: z.number().int().nonnegative() }),
  options: z.looseObject({
    /** Random inputs per layer, and the most real tokens resampled. */
    samples: z.number().int().positive(),
    seed: z.number().int().nonnegative(),
    prependBos: z.boolean(),
    maxTokens: z.number().int().positive(),
    /** Positions of every sequence left out of the measured means and the resampling. */
    excludePositions: z.array(z.number().int().nonnegative()),
    /** Special tokens left out wherever they occur, as `measure` does (absent in older files). */
    excludeTokens: z.array(z.object({ id: z.number().int().nonnegative(), token: z.string() })).optional(),
    /** Norm of every vector in the file: centered for LayerNorm models, raw for RMSNorm ones. */
    metric: z.enum(['centered', 'raw']),
    metricReason: z.string(),
    /** The normalisation random and resampled vectors pass through before the MLP / W_OV. */
    normalization: z.string(),
    /** Which residual vector the MLP reads, and so what is resampled: resid_mid, or resid_pre in parallel blocks. */
    mlpInput: z.enum(['resid_mid', 'resid_pre']),
    /** What "activation rate" counts. */
    activationRate: z.string(),
  }),
  runtime: z.looseObject({ seconds: z.number().nonnegative(), device: z.string(), threads: z.number().int().positive(), onnxruntime: z.string() }),
  tokens: z.object({ measured: z.number().int().nonnegative(), included: z.number().int().nonnegative(), resampled: z.number().int().nonnegative() }),
  layers: z.array(MechanismLayerSchema),
  createdBy: z.object({ tool: z.string(), version: z.string() }).optional(),
});
export type MechanismsFile = z.infer<typeof MechanismsFileSchema>;
