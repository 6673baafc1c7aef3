/**
 * `measure --diagnostics` and the flags that shape them (`--massive-dims`, `--sink-tokens`,
 * `--no-fold-value-biases`), checked against the model: which in-graph diagnostics a run
 * computes (none by default, so a default run costs what it always did).
 */
import type { TransformerSpec } from '../architectures/types.js';
import { ModelError, UsageError } from '../errors.js';
import {
  DEFAULT_SINK_TOKENS,
  DIAGNOSTICS,
  diagnosticColumns,
  sequenceDiagnosticColumns,
  SUN_THRESHOLDS,
  type Diagnostic,
  type DiagnosticSelection,
  type DiagnosticShape,
} from '../results/diagnostics.js';
import type { DiagnosticSummaries, DiagnosticsInfo } from '../results/diagnostics-info.js';

/** What a command line asks of the diagnostics. */
export interface DiagnosticsRequest {
  diagnostics?: readonly Diagnostic[];
  /** --massive-dims (with massive). */
  massiveDims?: readonly number[];
  /** --sink-tokens (with sinks; DEFAULT_SINK_TOKENS when absent). */
  sinkTokens?: number;
  /** false with --no-fold-value-biases (with heads). */
  foldValueBiases?: boolean;
}

/**
 * The run's selection, or undefined when no diagnostic is asked for. `spec` without its output
 * head (config.json alone, before the weights are fetched) checks all but the lens's head.
 */
export function chooseDiagnostics(
  request: DiagnosticsRequest,
  spec: Pick<TransformerSpec, 'dims'> & Partial<Pick<TransformerSpec, 'architecture' | 'outputHead'>>,
): DiagnosticSelection | undefined {
  const { massiveDims, sinkTokens } = request;
  const diagnostics = DIAGNOSTICS.filter((diagnostic) => request.diagnostics?.includes(diagnostic));
  if (massiveDims !== undefined && !diagnostics.includes('massive')) {
    throw new UsageError(`--massive-dims ${massiveDims.join(',')} needs --diagnostics massive (the dimensions are left out of massive_norm_without)`);
  }
  if (sinkTokens !== undefined && !diagnostics.includes('sinks'))
    throw new UsageError(`--sink-tokens ${sinkTokens} needs --diagnostics sinks (it is the number of positions sink_mass_first_<k> sums)`);
  if (request.foldValueBiases === false && !diagnostics.includes('heads'))
    throw new UsageError('--no-fold-value-biases needs --diagnostics heads (it says where the head writes put the value biases)');
  const { dModel, nCtx } = spec.dims;
  const outside = massiveDims?.find((dim) => dim >= dModel);
  if (outside !== undefined) throw new UsageError(`--massive-dims ${outside} is not a dimension of the residual stream of this model; valid: 0…${dModel - 1}`);
  if (sinkTokens !== undefined && !(Number.isInteger(sinkTokens) && sinkTokens >= 1 && sinkTokens <= nCtx)) {
    throw new UsageError(`--sink-tokens ${sinkTokens} is not a number of positions of this model; valid: 1…${nCtx} (its context length)`);
  }
  if (diagnostics.length === 0) return undefined;
  if (diagnostics.includes('massive-sequence') && dModel < 3)
    throw new ModelError(
      `--diagnostics massive-sequence takes the 3 largest |x| of a sequence's hidden state, and this model's d_model is ${dModel}; measure without massive-sequence`,
    );
  if (diagnostics.includes('lens') && spec.outputHead !== undefined && 'unavailable' in spec.outputHead) {
    throw new ModelError(
      `--diagnostics lens reads the model's final norm and unembedding, which this ${spec.architecture ?? ''} checkpoint does not give (${spec.outputHead.unavailable}); measure without lens`,
    );
  }
  return {
    diagnostics,
    ...(massiveDims && massiveDims.length > 0 ? { massiveDims: [...new Set(massiveDims)].sort((a, b) => a - b) } : {}),
    ...(diagnostics.includes('sinks') ? { sinkTokens: sinkTokens ?? DEFAULT_SINK_TOKENS } : {}),
    ...(diagnostics.includes('heads') ? { headValueBiases: request.foldValueBiases === false ? ('unfolded' as const) : ('folded' as const) } : {}),
  };
}

/** The model's shape as the diagnostic columns see it. */
export function diagnosticShape(spec: Pick<TransformerSpec, 'dims' | 'parallelResidual'>): DiagnosticShape {
  return { ...spec.dims, parallelResidual: spec.parallelResidual };
}

/** The output head the lens read, as the results file names it; undefined without the lens. */
export function lensHeadInfo(selection: DiagnosticSelection, spec: Pick<TransformerSpec, 'outputHead'>): DiagnosticsInfo['outputHead'] {
  if (!selection.diagnostics.includes('lens') || 'unavailable' in spec.outputHead) return undefined;
  const head = spec.outputHead;
  const finalNorm =
    head.finalNorm &&
    (head.finalNorm.weight?.tensor.name.replace(/\.weight$/, '') ?? `a ${head.finalNorm.kind === 'layernorm' ? 'LayerNorm' : 'RMSNorm'} without parameters`);
  return { finalNorm: finalNorm ?? null, unembedding: head.unembedding.tensor.name, tied: head.tied };
}

/**
 * What the results file records of the selection (measure, and merge for the shards' common
 * selection), with `shape` the model's (diagnosticShape, or a results file's model block) and
 * `outputHead` what the lens read (lensHeadInfo, or the shards' record of it).
 */
export function diagnosticsInfo(
  selection: DiagnosticSelection,
  shape: DiagnosticShape,
  summaries: DiagnosticSummaries,
  outputHead?: DiagnosticsInfo['outputHead'],
): DiagnosticsInfo {
  const columns = diagnosticColumns(selection, shape);
  const sequenceColumns = sequenceDiagnosticColumns(selection, shape);
  return {
    selected: [...selection.diagnostics],
    ...(selection.massiveDims ? { massiveDims: [...selection.massiveDims] } : {}),
    ...(selection.sinkTokens !== undefined ? { sinkTokens: selection.sinkTokens } : {}),
    ...(selection.headValueBiases !== undefined ? { headValueBiases: selection.headValueBiases } : {}),
    columns: columns.map(({ name }) => name),
    ...(sequenceColumns.length > 0 ? { sequenceColumns: sequenceColumns.map(({ name }) => name), massiveThresholds: { ...SUN_THRESHOLDS } } : {}),
    ...(outputHead ? { outputHead } : {}),
    summaries,
  };
}
