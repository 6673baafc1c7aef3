/**
 * The real-prompt means of `mechanisms` and their errors (src/analysis/token-errors.ts), against
 * the definitions written out: the finite-population correction of a sample drawn without
 * replacement, and the cluster-robust (CR1) error with prompts as clusters, checked against a
 * cluster bootstrap of data whose prompts differ.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allTokensMean, sampledTokensMean } from '../../src/analysis/token-errors.js';
import { createRandom } from '../support/random.js';

/** The sandwich estimator of a regression on a constant with clustered residuals, written out. */
function sandwich(values: number[], clusters: number[]): number {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ids = [...new Set(clusters)];
  const meat = ids.reduce((sum, id) => sum + values.reduce((s, value, i) => s + (clusters[i] === id ? value - mean : 0), 0) ** 2, 0);
  return Math.sqrt((ids.length / (ids.length - 1)) * meat) / n; // (X'X)⁻¹ = 1/n on both sides
}

/** C prompts of 5–40 tokens whose values share a prompt effect of sd `between` (within-prompt sd 1). */
function clustered(seed: number, prompts: number, between: number): { values: number[]; clusters: number[] } {
  const random = createRandom(seed);
  const values: number[] = [];
  const clusters: number[] = [];
  for (let c = 0; c < prompts; c += 1) {
    const effect = between * random.normal();
    const length = 5 + random.integer(36);
    for (let t = 0; t < length; t += 1) {
      values.push(3 + effect + random.normal());
      clusters.push(c);
    }
  }
  return { values, clusters };
}

function totals(values: number[], clusters: number[], prompts: number): { sums: Float64Array; counts: Float64Array } {
  const sums = new Float64Array(prompts);
  const counts = new Float64Array(prompts);
  values.forEach((value, i) => {
    sums[clusters[i]!]! += value;
    counts[clusters[i]!]! += 1;
  });
  return { sums, counts };
}

describe('token means and their errors', () => {
  it('every token: no sampling error (0), and the prompts as clusters give the sandwich estimator', () => {
    const { values, clusters } = clustered(1, 12, 0.8);
    const { sums, counts } = totals(values, clusters, 13); // prompt 12 holds no token
    const result = allTokensMean(sums, counts);
    assert.equal(result.stderr, 0);
    assert.equal(result.n, values.length);
    assert.equal(result.population, values.length);
    assert.equal(result.prompts, 12, 'a prompt without a token is not a cluster');
    assert.ok(Math.abs(result.mean - values.reduce((a, b) => a + b, 0) / values.length) < 1e-12);
    assert.ok(Math.abs(result.promptStderr! - sandwich(values, clusters)) < 1e-12 * sandwich(values, clusters));
  });

  it('a sample without replacement: √((1 − n/N)·s²/n) with s² of ddof 1, 0 when every token is drawn, null for one token of several', () => {
    const values = [1, 2, 3, 4, 10];
    const prompts = [0, 0, 1, 1, 2];
    const s2 = values.reduce((a, v) => a + (v - 4) ** 2, 0) / 4;
    const result = sampledTokensMean(values, prompts, 20);
    assert.equal(result.mean, 4);
    assert.ok(Math.abs(result.stderr! - Math.sqrt((1 - 5 / 20) * (s2 / 5))) < 1e-15);
    assert.ok(Math.abs(result.promptStderr! - sandwich(values, prompts)) < 1e-15);
    assert.equal(result.prompts, 3);
    assert.equal(sampledTokensMean(values, prompts, 5).stderr, 0, 'every token drawn: the mean is exact');
    assert.equal(sampledTokensMean([7], [3], 9).stderr, null);
    assert.equal(sampledTokensMean([7, 8], [3, 3], 9).promptStderr, null, 'one prompt: no prompt-level error');
    assert.throws(() => sampledTokensMean(values, prompts, 4), RangeError);
  });

  it('the cluster-robust error matches a cluster bootstrap where prompts differ, and the independent-token error falls far short of it', () => {
    const prompts = 40;
    const { values, clusters } = clustered(2, prompts, 1);
    const { sums, counts } = totals(values, clusters, prompts);
    const robust = allTokensMean(sums, counts).promptStderr!;
    // Resample whole prompts with replacement.
    const random = createRandom(3);
    const means: number[] = [];
    for (let b = 0; b < 4000; b += 1) {
      let total = 0;
      let n = 0;
      for (let c = 0; c < prompts; c += 1) {
        const drawn = random.integer(prompts);
        total += sums[drawn]!;
        n += counts[drawn]!;
      }
      means.push(total / n);
    }
    const center = means.reduce((a, b) => a + b, 0) / means.length;
    const bootstrap = Math.sqrt(means.reduce((a, m) => a + (m - center) ** 2, 0) / (means.length - 1));
    assert.ok(Math.abs(robust / bootstrap - 1) < 0.15, `cluster-robust ${robust} vs cluster bootstrap ${bootstrap}`);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const independent = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) / values.length);
    assert.ok(robust > 2.5 * independent, `prompt effects make the independent-token error too small: ${independent} vs ${robust}`);
  });
});
