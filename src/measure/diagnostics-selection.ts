/**
 * `measure --diagnostics` and `--massive-dims`, checked against the model: which in-graph
 * diagnostics a run computes (none by default, so a default run costs what it always did).
 */
import type { TransformerSpec } from '../architectures/types.js';
import { UsageError } from '../errors.js';
import { DIAGNOSTICS, diagnosticColumns, type Diagnostic, type DiagnosticSelection, type DiagnosticShape, type DiagnosticSummaries, type DiagnosticsInfo } from '../results/diagnostics.js';

/** The run's selection, or undefined when no diagnostic is asked for. */
export function chooseDiagnostics(requested: readonly Diagnostic[] | undefined, massiveDims: readonly number[] | undefined, spec: Pick<TransformerSpec, 'dims'>): DiagnosticSelection | undefined {
  const diagnostics = DIAGNOSTICS.filter((diagnostic) => requested?.includes(diagnostic));
  if (massiveDims !== undefined && !diagnostics.includes('massive')) {
    throw new UsageError(`--massive-dims ${massiveDims.join(',')} needs --diagnostics massive (the dimensions are left out of massive_norm_without)`);
  }
  const { dModel } = spec.dims;
  const outside = massiveDims?.find((dim) => dim >= dModel);
  if (outside !== undefined) throw new UsageError(`--massive-dims ${outside} is not a dimension of the residual stream of this model; valid: 0…${dModel - 1}`);
  if (diagnostics.length === 0) return undefined;
  return { diagnostics, ...(massiveDims && massiveDims.length > 0 ? { massiveDims: [...new Set(massiveDims)].sort((a, b) => a - b) } : {}) };
}

/** The model's shape as the diagnostic columns see it. */
export function diagnosticShape(spec: Pick<TransformerSpec, 'dims' | 'parallelResidual'>): DiagnosticShape {
  return { ...spec.dims, parallelResidual: spec.parallelResidual };
}

/**
 * What the results file records of the selection (measure, and merge for the shards' common
 * selection), with `shape` the model's (diagnosticShape, or a results file's model block).
 */
export function diagnosticsInfo(selection: DiagnosticSelection, shape: DiagnosticShape, summaries: DiagnosticSummaries): DiagnosticsInfo {
  const columns = diagnosticColumns(selection, shape);
  return { selected: [...selection.diagnostics], ...(selection.massiveDims ? { massiveDims: [...selection.massiveDims] } : {}), columns: columns.map(({ name }) => name), summaries };
}
