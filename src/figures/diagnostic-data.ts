/**
 * What the diagnostic figures draw of a results file: its `diagnostics` block (written by
 * `measure --diagnostics`), or why a figure cannot be drawn from it.
 */
import type { Diagnostic } from '../results/diagnostics.js';
import { readDiagnostics, type ReadDiagnostics } from '../results/diagnostics-info.js';
import type { Measurement } from '../results/schema.js';

/** The file's diagnostics when `needed` was measured, else the reason the figure is not drawn. */
export function diagnosticsOf(measurement: Measurement, needed: Diagnostic): { diagnostics: ReadDiagnostics } | { reason: string } {
  const diagnostics = readDiagnostics(measurement);
  if (diagnostics === undefined) return { reason: `${measurement.model.id} was measured without diagnostics; rerun measure with --diagnostics ${needed}` };
  if (!diagnostics.selected.includes(needed)) {
    return { reason: `${measurement.model.id} was measured with --diagnostics ${diagnostics.selected.join(',')}, without ${needed}` };
  }
  return { diagnostics };
}

/** Whether any of the files holds diagnostics (their figures are drawn by default only then). */
export function anyDiagnostics(measurements: readonly Measurement[]): boolean {
  return measurements.some((measurement) => readDiagnostics(measurement) !== undefined);
}
