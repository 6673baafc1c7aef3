/** Issue 15: the sweep figures, from a summary alone: what each draws, and why one is not drawn. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSweepFigure } from '../../src/figures/sweep-figures.js';
import { renderSvg } from '../../src/rendering/render.js';
import type { MemberSummary, SweepSummary } from '../../src/results/sweep-schema.js';

function member(index: number, spec: string, step: number | null, nLayers: number, factor: number): MemberSummary {
  return {
    index,
    spec,
    file: `members/${index}.json`,
    step,
    status: 'measured',
    id: spec,
    commit: 'a'.repeat(40),
    nLayers,
    dModel: 16,
    parameters: 12 * nLayers * 256,
    parametersEstimated: true,
    metric: 'centered',
    tokens: 100,
    growth: { factor, ciLow: factor - 0.01, ciHigh: factor + 0.01, ciMethod: 'bootstrap', fromLayer: 0, toLayer: nLayers - 1, r2: 0.9 },
    profile: Array.from({ length: nLayers }, (_, layer) => factor ** layer),
    position0: Array.from({ length: nLayers }, (_, layer) => 10 + layer),
  };
}

function summary(members: MemberSummary[]): SweepSummary {
  const counts = { measured: 0, failed: 0, missing: 0 };
  for (const entry of members) counts[entry.status] += 1;
  return {
    format: 'resid-norms/sweep',
    version: 1,
    createdBy: { tool: 'resid-norms', version: 'test' },
    hook: 'resid_pre',
    prompts: { source: 'p.txt', sha256: 'f'.repeat(64), count: 3 },
    counts,
    members,
  };
}

const options = { rescale: 'none', x: 'layer' } as const;
const values = (outcome: ReturnType<typeof buildSweepFigure>) => {
  assert.ok(outcome.drawn);
  return (outcome.spec as { data: { values: Array<Record<string, unknown>> } }).data.values;
};

describe('sweep figures', () => {
  const checkpoints = summary([
    member(1, 'm@step0', 0, 4, 1.5),
    member(2, 'm@step1000', 1000, 4, 1.3),
    { ...member(3, 'm@step9', 9, 4, 1), status: 'failed', growth: undefined, profile: undefined },
  ]);

  it('growth-vs-step: one point per measured checkpoint with its interval, on a symlog step axis that keeps step0', () => {
    const outcome = buildSweepFigure('growth-vs-step', checkpoints, options);
    assert.deepEqual(
      values(outcome).map((row) => [row.step, row.growth, row.low, row.high]),
      [
        [0, 1.5, 1.49, 1.51],
        [1000, 1.3, 1.29, 1.31],
      ],
    );
    assert.match(JSON.stringify(outcome), /"type":"symlog"/);
    assert.match(JSON.stringify(outcome), /2 of 3 members \(1 not measured\)/);
  });

  it('growth-vs-size needs two sizes and takes each model at its last checkpoint', () => {
    const one = buildSweepFigure('growth-vs-size', checkpoints, options);
    assert.ok(!one.drawn && /fewer than two model sizes/.test(one.reason));
    const sizes = summary([member(1, 'small@step0', 0, 4, 1.5), member(2, 'small@step1000', 1000, 4, 1.3), member(3, 'big', null, 8, 1.1)]);
    assert.deepEqual(
      values(buildSweepFigure('growth-vs-size', sizes, options)).map((row) => [row.member, row.nLayers]),
      [
        ['small@step1000', 4],
        ['big', 8],
      ],
    );
  });

  it('position0-vs-step draws the first, middle and last layer; nothing without stepN revisions', () => {
    assert.deepEqual(
      values(buildSweepFigure('position0-vs-step', checkpoints, options))
        .filter((row) => row.step === 0)
        .map((row) => [row.layer, row.index, row.norm]),
      [
        ['first layer', 0, 10],
        ['middle layer', 1, 11],
        ['last layer', 3, 13],
      ],
    );
    const models = summary([member(1, 'a', null, 4, 1.2)]);
    const outcome = buildSweepFigure('position0-vs-step', models, options);
    assert.ok(!outcome.drawn && /stepN/.test(outcome.reason));
  });

  it('profiles rescale by √d_model and run against relative depth, as compare does', () => {
    const rows = values(buildSweepFigure('profiles', checkpoints, { rescale: 'sqrt-d', x: 'relative-depth' }));
    assert.deepEqual(
      rows.filter((row) => row.member === 'm@step0').map((row) => [row.x, row.norm]),
      [
        [0, 0.25],
        [0.25, 0.375],
        [0.5, 0.5625],
        [0.75, 0.84375],
      ],
    );
  });

  // A sweep of 1,500 members of different models: Vega-Lite turned a `sort` list into a nested
  // ternary per member, which overflowed Vega's expression parser (issue 26, class 4).
  // (The other sweep figures list no member in a spec's expressions; the profiles figure did.)
  it('renders the profiles of 1,500 members of 1,500 models without overflowing the call stack', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => member(i + 1, `org/model-${i}`, null, 2 + (i % 5), 1 + i / 1e4));
    const outcome = buildSweepFigure('profiles', summary(many), options);
    assert.ok(outcome.drawn, outcome.drawn ? '' : outcome.reason);
    const { svg } = await renderSvg(outcome.spec, 'sweep-profiles');
    assert.match(svg, /^<svg/);
  });
});
