import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrefixSums, fitLine } from '../../src/analysis/least-squares.js';
import { PARAMETERS_PER_SEGMENT, segmentLine, type Segment } from '../../src/analysis/phase-segmentation.js';
import { createRandom } from '../support/random.js';

/** ln values of a piecewise-linear curve with independent noise. */
function piecewise(n: number, breaks: number[], slopes: number[], noise: number, seed: number): { xs: number[]; ys: number[] } {
  const random = createRandom(seed);
  const xs = Array.from({ length: n }, (_, i) => i);
  let value = 2;
  const ys = xs.map((x) => {
    if (x > 0) value += slopes[breaks.filter((b) => b <= x).length]!;
    return value + noise * random.normal();
  });
  return { xs, ys };
}

/** Every way of cutting n points into k segments of at least minSegment points: the reference for the DP. */
function bruteForce(xs: number[], ys: number[], k: number, minSegment: number): { rss: number; segments: Segment[] } {
  let best = { rss: Number.POSITIVE_INFINITY, segments: [] as Segment[] };
  const search = (start: number, left: number, chosen: Segment[], rss: number): void => {
    if (left === 1) {
      if (xs.length - start < minSegment) return;
      const total = rss + fitLine(xs.slice(start), ys.slice(start)).rss;
      if (total < best.rss) best = { rss: total, segments: [...chosen, { start, end: xs.length }] };
      return;
    }
    for (let end = start + minSegment; end <= xs.length - minSegment * (left - 1); end += 1) {
      const cost = fitLine(xs.slice(start, end), ys.slice(start, end)).rss;
      search(end, left - 1, [...chosen, { start, end }], rss + cost);
    }
  };
  search(0, k, [], 0);
  return best;
}

describe('segmentLine', () => {
  it('finds the same optimum as trying every set of breakpoints', () => {
    const { xs, ys } = piecewise(20, [6, 13], [0.2, 0.05, 0.12], 0.03, 11);
    const sums = new PrefixSums(xs, ys);
    for (const k of [1, 2, 3, 4]) {
      const found = segmentLine(sums, xs.length, { minSegment: 3, maxSegments: 4, segments: k });
      const reference = bruteForce(xs, ys, k, 3);
      assert.deepEqual(found.segments, reference.segments, `k = ${k}`);
      const rss = found.segments.reduce((sum, s) => sum + fitLine(xs.slice(s.start, s.end), ys.slice(s.start, s.end)).rss, 0);
      assert.ok(Math.abs(rss - reference.rss) < 1e-12);
      const n = xs.length;
      const expectedScore = n * Math.log(reference.rss / n) + PARAMETERS_PER_SEGMENT * k * Math.log(n);
      assert.ok(Math.abs(found.scores[k - 1]! - expectedScore) < 1e-8, `score for k = ${k}`);
    }
  });

  it('finds known breakpoints without being told how many', () => {
    // The slope changes on the steps into layers 4 and 15, so layers 3 and 14 are kinks that lie
    // on both neighbouring lines: a phase may start at the kink or one layer after it.
    for (const seed of [3, 4, 5]) {
      const { xs, ys } = piecewise(24, [4, 15], [0.25, 0.045, 0.11], 0.01, seed);
      const found = segmentLine(new PrefixSums(xs, ys), xs.length, { minSegment: 3, maxSegments: 5 });
      assert.equal(found.forced, false);
      const starts = found.segments.map((s) => s.start);
      assert.equal(starts.length, 3, `seed ${seed}: starts ${starts.join(', ')}`);
      assert.ok([3, 4].includes(starts[1]!) && [14, 15].includes(starts[2]!), `seed ${seed}: starts ${starts.join(', ')}`);
    }
  });

  it('does not split an exact straight line', () => {
    const xs = Array.from({ length: 30 }, (_, i) => i);
    const found = segmentLine(
      new PrefixSums(
        xs,
        xs.map((x) => 1 + 0.044 * x),
      ),
      30,
      { minSegment: 3, maxSegments: 5 },
    );
    assert.deepEqual(found.segments, [{ start: 0, end: 30 }]);
  });

  it('scores every feasible count of a constant series (an exact fit) as a finite number', () => {
    const xs = Array.from({ length: 12 }, (_, i) => i);
    const found = segmentLine(
      new PrefixSums(
        xs,
        xs.map(() => 0),
      ),
      12,
      { minSegment: 3, maxSegments: 4 },
    );
    assert.ok(
      found.scores.every((score) => score !== null && Number.isFinite(score)),
      `scores ${found.scores.join(', ')}`,
    );
    assert.deepEqual(found.segments, [{ start: 0, end: 12 }]);
  });

  it('rarely splits a noisy straight line (≤ 3 of 100 seeded lines of 24 points)', () => {
    let split = 0;
    for (let seed = 1; seed <= 100; seed += 1) {
      const { xs, ys } = piecewise(24, [], [0.044], 0.02, seed);
      if (segmentLine(new PrefixSums(xs, ys), 24, { minSegment: 4, maxSegments: 5 }).segments.length > 1) split += 1;
    }
    assert.ok(split <= 3, `${split} of 100 straight lines split`);
  });

  it('obeys the minimum segment length and reports infeasible counts as null', () => {
    const { xs, ys } = piecewise(10, [3, 6], [0.3, 0.0, 0.3], 0.001, 5);
    const found = segmentLine(new PrefixSums(xs, ys), 10, { minSegment: 4, maxSegments: 5 });
    assert.ok(found.segments.every((s) => s.end - s.start >= 4));
    assert.deepEqual(
      found.scores.map((score) => score === null),
      [false, false, true, true, true],
    );
  });

  it('refuses a forced count that does not fit', () => {
    const { xs, ys } = piecewise(10, [], [0.1], 0.01, 1);
    assert.throws(() => segmentLine(new PrefixSums(xs, ys), 10, { minSegment: 4, maxSegments: 5, segments: 3 }), RangeError);
  });
});
