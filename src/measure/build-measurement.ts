/** Assemble a results file from a finished run's parts and the outcome of writing its tables. */
import type { TransformerSpec } from '../architectures/types.js';
import type { DiagnosticsInfo } from '../results/diagnostics-info.js';
import type { TablesOutcome } from '../store/result-tables-writer.js';
import { toolVersion } from '../version.js';
import {
  MEASUREMENT_FORMAT,
  MEASUREMENT_VERSION,
  SUMMARY_STATISTICS,
  type Measurement,
  type ModelInfo,
  type PromptsInfo,
  type RuntimeInfo,
  type ShardInfo,
} from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';

/** The results file's model block. */
export function modelInfo(id: string, revision: string | null, bosTokenId: number | null, spec: TransformerSpec, contentId?: string): ModelInfo {
  return {
    id,
    revision,
    architecture: spec.architecture,
    nLayers: spec.dims.nLayers,
    dModel: spec.dims.dModel,
    nHeads: spec.dims.nHeads,
    dtype: spec.weightDtype,
    nCtx: spec.dims.nCtx,
    dVocab: spec.dims.dVocab,
    bosTokenId,
    normalization: spec.normalization,
    parallelResidual: spec.parallelResidual,
    ...(contentId === undefined ? {} : { contentId }),
  };
}

export interface MeasurementParts {
  model: ModelInfo;
  /** Which norm is comparable to the reference analysis, and why: the model's ModelShape.convention (or, merging, what the shards recorded). */
  primary: { metric: NormMetric; reason: string };
  prompts: PromptsInfo;
  options: Pick<Measurement['options'], 'prependBos' | 'excludePositions' | 'excludeTokens' | 'appendEos' | 'maxTokens' | 'batchSize'>;
  runtime: RuntimeInfo;
  hooks: HookName[];
  tables: TablesOutcome;
  shard?: ShardInfo;
  diagnostics?: DiagnosticsInfo;
}

export function buildMeasurement(parts: MeasurementParts): Measurement {
  const { metric, reason } = parts.primary;
  const { tables } = parts;
  return {
    format: MEASUREMENT_FORMAT,
    version: MEASUREMENT_VERSION,
    model: parts.model,
    prompts: parts.prompts,
    options: { ...parts.options, primaryMetric: metric, primaryMetricReason: reason },
    runtime: parts.runtime,
    hooks: parts.hooks,
    tokens: { measured: tables.tokens, excluded: tables.excluded, excludedBy: tables.excludedBy },
    summary: tables.summaries[metric],
    summaries: tables.summaries,
    statistics: { ...SUMMARY_STATISTICS },
    tables: tables.files,
    createdBy: { tool: 'resid-norms', version: toolVersion() },
    ...(parts.shard ? { shard: parts.shard } : {}),
    ...(parts.diagnostics ? { diagnostics: parts.diagnostics } : {}),
  };
}
