/** The seeded randomness of `mechanisms`: right distributions (tolerances from the sample size), reproducible, in range. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseIndices, gaussianRows, randomSourceLayers, sampleMean } from '../../src/analysis/mechanism-sampling.js';

describe('mechanism sampling', () => {
  it('draws standard normal values: mean within 4/√n of 0, variance within 4·√(2/n) of 1', () => {
    const values = gaussianRows(3, 500, 101); // odd total: the last value has no partner
    const n = values.length;
    const { mean } = sampleMean(values);
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
    assert.ok(Math.abs(mean) < 4 / Math.sqrt(n), `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 4 * Math.sqrt(2 / n), `variance ${variance}`);
    assert.deepEqual(gaussianRows(3, 500, 101), values, 'the same seed gives the same values');
    assert.notDeepEqual(gaussianRows(4, 500, 101), values);
  });

  it('chooses distinct sorted indices, each with probability count/total (within 4 standard errors)', () => {
    const total = 10;
    const count = 3;
    const draws = 20_000;
    const hits = new Array<number>(total).fill(0);
    for (let seed = 0; seed < draws; seed += 1) {
      const chosen = chooseIndices(seed, total, count);
      assert.equal(new Set(chosen).size, count);
      assert.deepEqual(
        chosen,
        [...chosen].sort((a, b) => a - b),
      );
      for (const index of chosen) hits[index]! += 1;
    }
    const p = count / total;
    const band = 4 * Math.sqrt((p * (1 - p)) / draws);
    hits.forEach((hit, index) => assert.ok(Math.abs(hit / draws - p) < band, `index ${index} chosen ${hit / draws} of the time, expected ${p} ± ${band}`));
    assert.deepEqual(chooseIndices(1, 5, 5), [0, 1, 2, 3, 4]);
    assert.throws(() => chooseIndices(1, 2, 3), RangeError);
  });

  it('draws one source layer per layer, uniformly over all layers', () => {
    const layers = randomSourceLayers(9, 48);
    assert.equal(layers.length, 48);
    assert.ok(layers.every((layer) => Number.isInteger(layer) && layer >= 0 && layer < 48));
    assert.ok(new Set(layers).size > 20, 'not stuck on a few layers');
  });

  it('reports the mean and its standard error (sample sd with ddof 1 / √n; null for one sample, which has none to estimate)', () => {
    assert.deepEqual(sampleMean([2]), { mean: 2, stderr: null, n: 1 });
    const { mean, stderr, n } = sampleMean([1, 2, 3, 4]);
    assert.equal(mean, 2.5);
    assert.equal(n, 4);
    assert.ok(Math.abs(stderr! - Math.sqrt(5 / 3) / 2) < 1e-15);
  });
});
