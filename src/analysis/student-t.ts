/**
 * Student's t quantiles for regression confidence intervals. The only importer of jstat:
 * mathjs (considered first) has no t distribution, and jstat is one small dependency-free file.
 */
import jStat from 'jstat';

/** Two-sided critical value: t such that P(|T| ≤ t) = confidence, for `dof` degrees of freedom. */
export function studentTCritical(confidence: number, dof: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!(dof > 0)) throw new RangeError(`degrees of freedom must be positive, got ${dof}`);
  return jStat.studentt.inv(1 - (1 - confidence) / 2, dof);
}
