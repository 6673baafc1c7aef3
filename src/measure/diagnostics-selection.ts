/**
 * `measure --diagnostics` and `--massive-dims`, checked against the model: which in-graph
 * diagnostics a run computes (none by default, so a default run costs what it always did).
 */
import type { TransformerSpec } from '../architectures/types.js';
import { ModelError, UsageError } from '../errors.js';
import { DIAGNOSTICS, diagnosticColumns, type Diagnostic, type DiagnosticSelection, type DiagnosticSummaries, type DiagnosticsInfo } from '../results/diagnostics.js';

/** The run's selection, or undefined when no diagnostic is asked for. */
export function chooseDiagnostics(requested: readonly Diagnostic[] | undefined, massiveDims: readonly number[] | undefined, spec: TransformerSpec): DiagnosticSelection | undefined {
  const diagnostics = DIAGNOSTICS.filter((diagnostic) => requested?.includes(diagnostic));
  if (massiveDims !== undefined && !diagnostics.includes('massive')) {
    throw new UsageError(`--massive-dims ${massiveDims.join(',')} needs --diagnostics massive (the dimensions are left out of massive_norm_without)`);
  }
  const { dModel } = spec.dims;
  const outside = massiveDims?.find((dim) => dim >= dModel);
  if (outside !== undefined) throw new UsageError(`--massive-dims ${outside} is not a dimension of the residual stream of this model; valid: 0…${dModel - 1}`);
  if (diagnostics.length === 0) return undefined;
  if (diagnostics.includes('lens') && 'unavailable' in spec.outputHead) {
    throw new ModelError(`--diagnostics lens reads the model's final norm and unembedding, which this ${spec.architecture} checkpoint does not give (${spec.outputHead.unavailable}); measure without lens`);
  }
  return { diagnostics, ...(massiveDims && massiveDims.length > 0 ? { massiveDims: [...new Set(massiveDims)].sort((a, b) => a - b) } : {}) };
}

/** What the results file records of the selection. */
export function diagnosticsInfo(selection: DiagnosticSelection, spec: TransformerSpec, summaries: DiagnosticSummaries): DiagnosticsInfo {
  const columns = diagnosticColumns(selection, { ...spec.dims, parallelResidual: spec.parallelResidual });
  const head = selection.diagnostics.includes('lens') && !('unavailable' in spec.outputHead) ? spec.outputHead : undefined;
  return {
    selected: [...selection.diagnostics],
    ...(selection.massiveDims ? { massiveDims: [...selection.massiveDims] } : {}),
    columns: columns.map(({ name }) => name),
    ...(head ? { outputHead: { finalNorm: head.finalNorm?.weight.name.replace(/\.weight$/, '') ?? null, unembedding: head.unembedding.name, tied: head.tied } } : {}),
    summaries,
  };
}
