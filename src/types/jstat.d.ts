/** The small part of jstat (no bundled types) that resid-norms uses. */
declare module 'jstat' {
  interface StudentT {
    /** Quantile (inverse CDF) of Student's t with `dof` degrees of freedom. */
    inv(p: number, dof: number): number;
    cdf(x: number, dof: number): number;
  }
  const jStat: { studentt: StudentT };
  export default jStat;
}
