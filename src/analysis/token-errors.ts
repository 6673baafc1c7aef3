/**
 * Means of per-token values from real prompts, with the two errors a reader may want, the
 * prompts being the unit that was sampled:
 *
 * - `stderr`, the sampling error of the tokens drawn: a simple random sample of n of the N
 *   included tokens, without replacement, so √((1 − n/N) · s²/n) with s² the sample variance
 *   (ddof 1), the finite-population correction included. With every token (n = N) it is 0: the
 *   mean of these prompts' tokens is then known exactly.
 * - `promptStderr`, the error as an estimate for other prompts like these: cluster-robust with the
 *   prompts as clusters (CR1, as Stata's vce(cluster) for a mean, and the sandwich estimator of a
 *   regression on a constant): √(C/(C − 1) · Σ_c (Y_c − ȳ·m_c)²) / n over the C prompts that hold
 *   a token of the sample, Y_c the sum of their m_c values. Tokens of one prompt are not
 *   independent (they share its context), so this is the error to quote for a claim about a
 *   model rather than about this prompt set; null with a single prompt (nothing to compare).
 *
 * Everything in float64, in two passes (no cancellation of large sums).
 */

export interface TokenMean {
  mean: number;
  /** Sampling error of the tokens drawn (finite-population corrected); 0 when every token is used; null for one token of several. */
  stderr: number | null;
  /** Tokens averaged. */
  n: number;
  /** Included tokens they were drawn from (n = population: all of them). */
  population: number;
  /** Prompts the n tokens come from: the clusters of promptStderr. */
  prompts: number;
  /** Cluster-robust standard error with the prompts as clusters; null with fewer than two prompts. */
  promptStderr: number | null;
}

/** √(C/(C − 1) · Σ_c (Y_c − mean·m_c)²) / n over the clusters with m_c > 0, and C; null when C < 2. */
function clusterRobust(sums: ArrayLike<number>, counts: ArrayLike<number>, mean: number, n: number): { prompts: number; promptStderr: number | null } {
  let clusters = 0;
  let squares = 0;
  for (let c = 0; c < sums.length; c += 1) {
    if (counts[c]! === 0) continue;
    clusters += 1;
    squares += (sums[c]! - mean * counts[c]!) ** 2;
  }
  return { prompts: clusters, promptStderr: clusters > 1 ? Math.sqrt((clusters / (clusters - 1)) * squares) / n : null };
}

/**
 * The mean of every included token, from per-prompt sums and token counts (prompts without a
 * token count 0): no sampling error (stderr 0), and the prompts' cluster-robust error.
 */
export function allTokensMean(sums: ArrayLike<number>, counts: ArrayLike<number>): TokenMean {
  let total = 0;
  let n = 0;
  for (let c = 0; c < sums.length; c += 1) {
    total += sums[c]!;
    n += counts[c]!;
  }
  if (n === 0) throw new RangeError('no token to average');
  const mean = total / n;
  return { mean, stderr: 0, n, population: n, ...clusterRobust(sums, counts, mean, n) };
}

/**
 * The mean of n tokens drawn uniformly without replacement from `population` included tokens:
 * values[i] of a token of prompt prompts[i] (any integer id, e.g. its index in the prompt file).
 */
export function sampledTokensMean(values: ArrayLike<number>, prompts: ArrayLike<number>, population: number): TokenMean {
  const n = values.length;
  if (n === 0 || n > population) throw new RangeError(`cannot average ${n} tokens drawn from ${population}`);
  let total = 0;
  for (let i = 0; i < n; i += 1) total += values[i]!;
  const mean = total / n;
  let squares = 0;
  for (let i = 0; i < n; i += 1) squares += (values[i]! - mean) ** 2;
  const stderr = n === population ? 0 : n > 1 ? Math.sqrt((1 - n / population) * (squares / (n - 1) / n)) : null;
  // Per-prompt sums of the sample, over the prompts it holds (in order of first appearance).
  const index = new Map<number, number>();
  const sums: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i += 1) {
    let c = index.get(prompts[i]!);
    if (c === undefined) {
      c = sums.length;
      index.set(prompts[i]!, c);
      sums.push(0);
      counts.push(0);
    }
    sums[c]! += values[i]!;
    counts[c]! += 1;
  }
  return { mean, stderr, n, population, ...clusterRobust(sums, counts, mean, n) };
}
