/** Assemble a results file from a finished run's parts (summaries computed here). */
import { summarizeMeasurement } from '../analysis/norm-statistics.js';
import type { TransformerSpec } from '../architectures/types.js';
import { toolVersion } from '../version.js';
import {
  MEASUREMENT_FORMAT,
  MEASUREMENT_VERSION,
  type HookName,
  type Measurement,
  type NormMetric,
  type PromptsInfo,
  type RuntimeInfo,
  type SequenceResult,
  type ShardInfo,
} from './schema.js';

/** Which norm is comparable to the reference analysis for this model, and why. */
export function primaryMetric(spec: Pick<TransformerSpec, 'normalization'>): { metric: NormMetric; reason: string } {
  return spec.normalization === 'layernorm'
    ? { metric: 'centered', reason: 'LayerNorm model: TransformerLens centers the writing weights (center_writing_weights), so the reference analysis measures the centered norm' }
    : { metric: 'raw', reason: 'RMSNorm model: TransformerLens does not center it, so the raw norm is the comparable one' };
}

export interface MeasurementParts {
  model: { id: string; revision: string | null; bosTokenId: number | null; spec: TransformerSpec };
  prompts: PromptsInfo;
  options: { prependBos: boolean; excludePositions: number[]; maxTokens: number; batchSize: number };
  runtime: RuntimeInfo;
  hooks: HookName[];
  sequences: SequenceResult[];
  shard?: ShardInfo;
}

export function buildMeasurement(parts: MeasurementParts): Measurement {
  const { spec } = parts.model;
  const metric = primaryMetric(spec);
  const measurement: Measurement = {
    format: MEASUREMENT_FORMAT,
    version: MEASUREMENT_VERSION,
    model: {
      id: parts.model.id,
      revision: parts.model.revision,
      architecture: spec.architecture,
      nLayers: spec.dims.nLayers,
      dModel: spec.dims.dModel,
      nHeads: spec.dims.nHeads,
      dtype: spec.weightDtype,
      nCtx: spec.dims.nCtx,
      dVocab: spec.dims.dVocab,
      bosTokenId: parts.model.bosTokenId,
      normalization: spec.normalization,
      parallelResidual: spec.parallelResidual,
    },
    prompts: parts.prompts,
    options: { ...parts.options, primaryMetric: metric.metric, primaryMetricReason: metric.reason },
    runtime: parts.runtime,
    hooks: parts.hooks,
    sequences: parts.sequences,
    summary: {},
    createdBy: { tool: 'resid-norms', version: toolVersion() },
    ...(parts.shard ? { shard: parts.shard } : {}),
  };
  measurement.summary = summarizeMeasurement(measurement);
  return measurement;
}
