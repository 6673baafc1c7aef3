/**
 * `measure --diagnostics` and `--massive-dims`, checked against the model: which in-graph
 * diagnostics a run computes (none by default, so a default run costs what it always did).
 */
import type { TransformerSpec } from '../architectures/types.js';
import { ModelError, UsageError } from '../errors.js';
import { DIAGNOSTICS, diagnosticColumns, type Diagnostic, type DiagnosticSelection, type DiagnosticShape, type DiagnosticSummaries, type DiagnosticsInfo } from '../results/diagnostics.js';

/**
 * The run's selection, or undefined when no diagnostic is asked for. `spec` without its output
 * head (config.json alone, before the weights are fetched) checks all but the lens's head.
 */
export function chooseDiagnostics(
  requested: readonly Diagnostic[] | undefined,
  massiveDims: readonly number[] | undefined,
  spec: Pick<TransformerSpec, 'dims'> & Partial<Pick<TransformerSpec, 'architecture' | 'outputHead'>>,
): DiagnosticSelection | undefined {
  const diagnostics = DIAGNOSTICS.filter((diagnostic) => requested?.includes(diagnostic));
  if (massiveDims !== undefined && !diagnostics.includes('massive')) {
    throw new UsageError(`--massive-dims ${massiveDims.join(',')} needs --diagnostics massive (the dimensions are left out of massive_norm_without)`);
  }
  const { dModel } = spec.dims;
  const outside = massiveDims?.find((dim) => dim >= dModel);
  if (outside !== undefined) throw new UsageError(`--massive-dims ${outside} is not a dimension of the residual stream of this model; valid: 0…${dModel - 1}`);
  if (diagnostics.length === 0) return undefined;
  if (diagnostics.includes('lens') && spec.outputHead !== undefined && 'unavailable' in spec.outputHead) {
    throw new ModelError(`--diagnostics lens reads the model's final norm and unembedding, which this ${spec.architecture ?? ''} checkpoint does not give (${spec.outputHead.unavailable}); measure without lens`);
  }
  return { diagnostics, ...(massiveDims && massiveDims.length > 0 ? { massiveDims: [...new Set(massiveDims)].sort((a, b) => a - b) } : {}) };
}

/** The model's shape as the diagnostic columns see it. */
export function diagnosticShape(spec: Pick<TransformerSpec, 'dims' | 'parallelResidual'>): DiagnosticShape {
  return { ...spec.dims, parallelResidual: spec.parallelResidual };
}

/** The output head the lens read, as the results file names it; undefined without the lens. */
export function lensHeadInfo(selection: DiagnosticSelection, spec: Pick<TransformerSpec, 'outputHead'>): DiagnosticsInfo['outputHead'] {
  if (!selection.diagnostics.includes('lens') || 'unavailable' in spec.outputHead) return undefined;
  const head = spec.outputHead;
  return { finalNorm: head.finalNorm?.weight.tensor.name.replace(/\.weight$/, '') ?? null, unembedding: head.unembedding.tensor.name, tied: head.tied };
}

/**
 * What the results file records of the selection (measure, and merge for the shards' common
 * selection), with `shape` the model's (diagnosticShape, or a results file's model block) and
 * `outputHead` what the lens read (lensHeadInfo, or the shards' record of it).
 */
export function diagnosticsInfo(selection: DiagnosticSelection, shape: DiagnosticShape, summaries: DiagnosticSummaries, outputHead?: DiagnosticsInfo['outputHead']): DiagnosticsInfo {
  const columns = diagnosticColumns(selection, shape);
  return {
    selected: [...selection.diagnostics],
    ...(selection.massiveDims ? { massiveDims: [...selection.massiveDims] } : {}),
    columns: columns.map(({ name }) => name),
    ...(outputHead ? { outputHead } : {}),
    summaries,
  };
}
