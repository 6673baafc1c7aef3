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
/** Version 2 gives real-prompt means their token-sampling and prompt-level errors; version 1 (still read) gave sampled means an error that took tokens as independent. */
export const MECHANISMS_VERSION = 2;

const stderr = z.number().nonnegative().nullable();

/** A mean over random inputs (independent samples) and its standard error: sample std (ddof 1) / √n; null for one sample. */
export const SampleMeanSchema = z.object({ mean: z.number().nonnegative(), stderr, n: z.number().int().positive() });
export type SampleMean = z.infer<typeof SampleMeanSchema>;

/**
 * A mean over real prompts' tokens (src/analysis/token-errors.ts): `stderr` is the sampling
 * error of the n tokens drawn from the `population` included ones (finite-population corrected:
 * 0 when every token is used), `promptStderr` the cluster-robust error with the `prompts` as
 * clusters (null with fewer than two; both null in a version-1 file, which did not record them).
 */
export const TokenMeanSchema = SampleMeanSchema.extend({
  population: z.number().int().positive(),
  prompts: z.number().int().nonnegative().nullable(),
  promptStderr: stderr,
});
export type TokenMean = z.infer<typeof TokenMeanSchema>;

export const MechanismLayerSchema = z.object({
  layer: z.number().int().nonnegative(),
  /** The real prompts, every included token: mean norms of what the block writes and the MLP's activation rate (stderr 0: no sampling). */
  measured: z.object({ attn_out: TokenMeanSchema, mlp_out: TokenMeanSchema, activationRate: TokenMeanSchema }),
  /** x ~ N(0, I) through the block's input normalisation: ‖MLP‖, ‖Σ_h W_OV^h x‖, activation rate. */
  random: z.object({ mlp_out: SampleMeanSchema, ov: SampleMeanSchema, activationRate: SampleMeanSchema }),
  /** The MLP inputs of sampled real tokens at this layer, through this layer's MLP. */
  sameLayer: z.object({ mlp_out: TokenMeanSchema, activationRate: TokenMeanSchema }),
  /** The MLP inputs of the same sampled tokens at `sourceLayer` (seeded, uniform over layers), through this layer's MLP. */
  randomLayer: z.object({ sourceLayer: z.number().int().nonnegative(), mlp_out: TokenMeanSchema, activationRate: TokenMeanSchema }),
});
export type MechanismLayer = z.infer<typeof MechanismLayerSchema>;

/** How every error of the file is computed, in words (a version-1 file is read with what it did). */
export const MechanismErrorsSchema = z.object({
  /** The random inputs' stderr. */
  random: z.string(),
  /** The real tokens' stderr. */
  tokens: z.string(),
  /** promptStderr. */
  prompts: z.string(),
});
export type MechanismErrors = z.infer<typeof MechanismErrorsSchema>;

export const MECHANISM_ERRORS: MechanismErrors = {
  random: 'independent samples: sample standard deviation (ddof 1) / √n',
  tokens:
    'a simple random sample of n of the N included tokens without replacement: √((1 − n/N) · s² / n), s² with ddof 1; 0 when every token is used (the measured means): no sampling error',
  prompts:
    'cluster-robust (CR1) with the prompts as clusters: √(C/(C − 1) · Σ_c (Y_c − mean · m_c)²) / n over the C prompts holding a token, Y_c the sum of their m_c values; null with one prompt',
};

export const MechanismsModelInfoSchema = ModelInfoSchema.extend({
  dMlp: z.number().int().positive(),
  /** 'moe': a mixture of experts (Mixtral); dMlp and activation are each expert's. */
  mlp: z.enum(['dense', 'gated', 'moe']),
  activation: z.string(),
  /** Mixtures of experts: how many experts a block has, and how many each token uses. */
  experts: z.object({ count: z.number().int().positive(), perToken: z.number().int().positive() }).optional(),
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
    /** How the errors are computed (MECHANISM_ERRORS). */
    errors: MechanismErrorsSchema,
  }),
  runtime: z.looseObject({ seconds: z.number().nonnegative(), device: z.string(), threads: z.number().int().positive(), onnxruntime: z.string() }),
  tokens: z.object({ measured: z.number().int().nonnegative(), included: z.number().int().nonnegative(), resampled: z.number().int().nonnegative() }),
  layers: z.array(MechanismLayerSchema),
  createdBy: z.object({ tool: z.string(), version: z.string() }).optional(),
});
export type MechanismsFile = z.infer<typeof MechanismsFileSchema>;

/** Version 1's means: a plain number for the measured ones, and stderr = sample sd / √n (0 for one sample) for the sampled ones. */
const SampleMeanV1Schema = z.object({ mean: z.number().nonnegative(), stderr: z.number().nonnegative(), n: z.number().int().positive() });
const MechanismLayerV1Schema = z.object({
  layer: z.number().int().nonnegative(),
  measured: z.object({ attn_out: z.number().nonnegative(), mlp_out: z.number().nonnegative(), activationRate: z.number().min(0).max(1) }),
  random: z.object({ mlp_out: SampleMeanV1Schema, ov: SampleMeanV1Schema, activationRate: SampleMeanV1Schema }),
  sameLayer: z.object({ mlp_out: SampleMeanV1Schema, activationRate: SampleMeanV1Schema }),
  randomLayer: z.object({ sourceLayer: z.number().int().nonnegative(), mlp_out: SampleMeanV1Schema, activationRate: SampleMeanV1Schema }),
});

/** A version-1 file: read, converted (upgradeMechanismsV1), never written. */
export const MechanismsFileV1Schema = MechanismsFileSchema.extend({
  version: z.literal(1),
  options: MechanismsFileSchema.shape.options.omit({ errors: true }),
  layers: z.array(MechanismLayerV1Schema),
});
export type MechanismsFileV1 = z.infer<typeof MechanismsFileV1Schema>;

/**
 * A version-1 file in version 2's shape, saying what it computed: its measured means had no
 * error (every token: stderr 0), its sampled means an error that took the tokens as independent
 * and left out the finite-population correction, and neither had a prompt-level error (null).
 */
export function upgradeMechanismsV1(file: MechanismsFileV1): MechanismsFile {
  const included = file.tokens.included;
  const measured = (mean: number): TokenMean => ({ mean, stderr: 0, n: included, population: included, prompts: null, promptStderr: null });
  const sampled = (value: z.infer<typeof SampleMeanV1Schema>): TokenMean => ({ ...value, population: included, prompts: null, promptStderr: null });
  return {
    ...file,
    version: MECHANISMS_VERSION,
    options: {
      ...file.options,
      errors: {
        random: MECHANISM_ERRORS.random,
        tokens: 'version 1: sample standard deviation (ddof 1) / √n, the tokens taken as independent, no finite-population correction',
        prompts: 'not computed (version 1)',
      },
    },
    layers: file.layers.map((layer) => ({
      layer: layer.layer,
      measured: {
        attn_out: measured(layer.measured.attn_out),
        mlp_out: measured(layer.measured.mlp_out),
        activationRate: measured(layer.measured.activationRate),
      },
      random: layer.random,
      sameLayer: { mlp_out: sampled(layer.sameLayer.mlp_out), activationRate: sampled(layer.sameLayer.activationRate) },
      randomLayer: {
        sourceLayer: layer.randomLayer.sourceLayer,
        mlp_out: sampled(layer.randomLayer.mlp_out),
        activationRate: sampled(layer.randomLayer.activationRate),
      },
    })),
  };
}
