/**
 * The fit file written by `resid-norms fit --out`: one growth fit per input file and hook,
 * for `plot` and `report` to draw fit lines from without refitting. One zod schema is both
 * the TypeScript type (GrowthFit) and the validator. Fields may be added; existing ones keep
 * their meaning.
 */
import { z } from 'zod';
import { HookNameSchema, NormMetricSchema } from './schema.js';
import { WeightSeriesNameSchema, WeightVariantSchema } from './weights-schema.js';

export const FIT_FORMAT = 'resid-norms/fit';
export const FIT_VERSION = 1;

/** Per-layer statistic over tokens that a fit starts from; geomean = exp(mean of ln norm), the one a log-linear fit models. */
export const LAYER_STATISTICS = ['mean', 'median', 'geomean'] as const;
export const LayerStatisticSchema = z.enum(LAYER_STATISTICS);
export type LayerStatistic = z.infer<typeof LayerStatisticSchema>;

const layer = z.number().int().nonnegative();
const factor = z.number().positive();

/** How a 95% interval of a growth factor was obtained; 'none': a line through two points has no interval without a bootstrap (ciLow = ciHigh = growth). */
export const CiMethodSchema = z.enum(['bootstrap', 'regression', 'none']);
export type CiMethod = z.infer<typeof CiMethodSchema>;

/**
 * How the growth factor is estimated from the per-layer statistic m_l over layers a…b:
 * 'ols', exp(slope) of the least-squares line of ln m_l on l over every layer; 'endpoints',
 * (m_b / m_a)^(1/(b − a)), the line through the two ends (the reference analysis's procedure).
 */
export const FIT_METHODS = ['ols', 'endpoints'] as const;
export const FitMethodSchema = z.enum(FIT_METHODS);
export type FitMethod = z.infer<typeof FitMethodSchema>;

/** One method's estimate with its headline interval. */
export const MethodEstimateSchema = z.object({
  growth: factor,
  /** ln statistic of the method's line at layer 0. */
  intercept: z.number(),
  ciLow: factor,
  ciHigh: factor,
  ciMethod: CiMethodSchema,
});
export type MethodEstimate = z.infer<typeof MethodEstimateSchema>;

/** Whether one exponential describes the fitted range, and why (see docs/fit.md). */
export const FitShapeSchema = z.object({
  oneExponential: z.boolean(),
  /** A sentence saying what the verdict rests on. */
  reason: z.string(),
});
export type FitShape = z.infer<typeof FitShapeSchema>;

export const GrowthPhaseSchema = z.object({
  fromLayer: layer,
  toLayer: layer,
  /** Factor per layer inside the phase: exp(slope). */
  growth: factor,
  /** ln norm of the phase's line at layer 0: norm(l) = exp(intercept)·growth^l within the phase. */
  intercept: z.number(),
  r2: z.number(),
  /** Interval of `growth` by `ciMethod`; the bootstrap keeps the breakpoints fixed. */
  ciLow: factor,
  ciHigh: factor,
  ciMethod: CiMethodSchema,
});
export type GrowthPhase = z.infer<typeof GrowthPhaseSchema>;

export const RegressionCiSchema = z.object({
  ciLow: factor,
  ciHigh: factor,
  /** Standard error of the slope of ln(statistic) on layer. */
  slopeStdError: z.number().nonnegative(),
  /** Degrees of freedom of the t quantile: layers − 2. */
  dof: z.number().int().positive(),
});

export const BootstrapCiSchema = z.object({
  ciLow: factor,
  ciHigh: factor,
  /** Resamples of the prompts (sequences drawn with replacement), each refitted. */
  samples: z.number().int().positive(),
  seed: z.number().int(),
  /** Percentile interval of the resampled growth factors. */
  method: z.literal('percentile'),
  /** Standard deviation of the resampled slopes. */
  slopeStdError: z.number().nonnegative(),
});

export const SegmentationSchema = z.object({
  /** Bayesian information criterion over piecewise log-linear fits, independent lines per segment: n·ln(RSS/n) + p·k·ln n. */
  criterion: z.literal('bic'),
  /** p: parameters charged per segment (line, breakpoint and the search for it). */
  parametersPerSegment: z.number().positive(),
  /** True when --segments fixed the number instead of the criterion. */
  forced: z.boolean(),
  minSegment: z.number().int().positive(),
  maxSegments: z.number().int().positive(),
  /** [k − 1] = criterion value of the best fit with k segments; null where k segments do not fit. */
  scores: z.array(z.number().nullable()),
});

export const GrowthFitSchema = z.object({
  model: z.string(),
  hook: HookNameSchema,
  metric: NormMetricSchema,
  stat: LayerStatisticSchema,
  /** Inclusive layer range fitted. */
  fromLayer: layer,
  toLayer: layer,
  /** [toLayer − fromLayer + 1] the per-layer statistic that was fitted (not its log). */
  values: z.array(z.number().positive()),
  /** Sequences (prompts) and tokens per layer behind each value. */
  sequences: z.number().int().nonnegative(),
  tokensPerLayer: z.number().int().nonnegative(),
  /** The estimator of the headline `growth`, interval and line (absent in older files: 'ols'). */
  method: FitMethodSchema.optional(),
  /** Factor per layer by `method`; for 'ols', exp(slope of ln statistic on layer). */
  growth: factor,
  /** ln statistic of the headline line at layer 0: value(l) = exp(intercept)·growth^l. */
  intercept: z.number(),
  /** R² of the least-squares line (whatever the headline method). */
  r2: z.number(),
  confidence: z.number().gt(0).lt(1),
  /** The headline interval of `growth`: the bootstrap's when there is one, else the regression's. */
  ciLow: factor,
  ciHigh: factor,
  ciMethod: CiMethodSchema,
  /** Ordinary regression interval: slope ± t(dof)·se, treating layers as independent points. */
  regression: RegressionCiSchema,
  /** Bootstrap over prompts; null when switched off or with fewer than 2 sequences. */
  bootstrap: BootstrapCiSchema.nullable(),
  phases: z.array(GrowthPhaseSchema).min(1),
  segmentation: SegmentationSchema,
  /** Both estimators side by side (absent in older files). */
  methods: z.object({ ols: MethodEstimateSchema, endpoints: MethodEstimateSchema }).optional(),
  /** One exponential or not (absent in older files). */
  shape: FitShapeSchema.optional(),
});
export type GrowthFit = z.infer<typeof GrowthFitSchema>;

export const FitEntrySchema = GrowthFitSchema.extend({
  /** The results file the fit was made from, as given on the command line. */
  source: z.string(),
});
export type FitEntry = z.infer<typeof FitEntrySchema>;

/**
 * A growth fit of one per-layer series of a weights file (`resid-norms weights`): the same
 * line, interval and phases as an activation fit, with no prompts behind it — so no bootstrap,
 * and the interval is the regression's.
 */
export const WeightGrowthFitSchema = GrowthFitSchema.omit({ hook: true, metric: true, stat: true, sequences: true, tokensPerLayer: true }).extend({
  series: WeightSeriesNameSchema,
  variant: WeightVariantSchema,
});
export type WeightGrowthFit = z.infer<typeof WeightGrowthFitSchema>;

export const WeightFitEntrySchema = WeightGrowthFitSchema.extend({
  /** The weights file the fit was made from, as given on the command line. */
  source: z.string(),
});
export type WeightFitEntry = z.infer<typeof WeightFitEntrySchema>;

export const FitFileSchema = z.looseObject({
  format: z.literal(FIT_FORMAT),
  version: z.literal(FIT_VERSION),
  createdBy: z.object({ tool: z.string(), version: z.string() }),
  fits: z.array(FitEntrySchema),
  /** Fits of weights files; absent when none was given. */
  weightFits: z.array(WeightFitEntrySchema).optional(),
});
export type FitFile = z.infer<typeof FitFileSchema>;
