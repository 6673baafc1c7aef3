/**
 * Golden Vega-Lite specs: every figure of the tiny fixture must build exactly the committed
 * spec in test/figures/golden/. After a deliberate change, regenerate them with
 *   npm run test:update-golden
 * and review the diff like code.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIGURE_NAMES, FIGURES } from '../../src/figures/figure-registry.js';
import { planFigures, type PlannedFigure } from '../../src/figures/figure-plan.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import { GOLDEN_FOLDER, tinyMechanismsSubject, tinySubjects, tinyWeightsSubject, withDiagnostics } from './plot-fixtures.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

/**
 * The planned figures, plus the comparison once more with both of its options and the weights
 * figure without results; the diagnostic figures from the fixture with hand-made diagnostics.
 */
async function goldenCases(): Promise<Array<{ file: string; content: string }>> {
  const subjects = await tinySubjects();
  const rename =
    (stem: string) =>
    (planned: PlannedFigure): PlannedFigure => ({ ...planned, stem });
  const diagnosticFigures = FIGURE_NAMES.filter((name) => FIGURES[name].diagnostic !== undefined);
  const diagnosed = withDiagnostics(subjects[0]!);
  const plan: PlannedFigure[] = [
    ...planFigures(
      subjects,
      FIGURE_NAMES.filter((name) => !diagnosticFigures.includes(name)),
      DEFAULT_FIGURE_OPTIONS,
      [await tinyWeightsSubject(subjects[0])],
      [await tinyMechanismsSubject()],
    ),
    ...planFigures([diagnosed], diagnosticFigures, DEFAULT_FIGURE_OPTIONS, [await tinyWeightsSubject(diagnosed)]).map((planned) =>
      rename(`diagnostics-${planned.stem}`)(planned),
    ),
    ...planFigures(subjects, ['compare'], { ...DEFAULT_FIGURE_OPTIONS, rescale: 'sqrt-d', x: 'relative-depth' }).map(rename('compare-sqrt-d-relative-depth')),
    ...planFigures([], ['weights'], DEFAULT_FIGURE_OPTIONS, [await tinyWeightsSubject()]).map(rename('weights-only')),
  ];
  const drawn = plan.flatMap(({ stem, outcome }) =>
    outcome.drawn ? [{ file: `${stem}.vl.json`, content: `${JSON.stringify(outcome.spec, null, 2)}\n` }] : [],
  );
  const notDrawn = Object.fromEntries(plan.flatMap(({ stem, outcome }) => (outcome.drawn ? [] : [[stem, outcome.reason]])));
  return [...drawn, { file: 'not-drawn.json', content: `${JSON.stringify(notDrawn, null, 2)}\n` }];
}

describe('golden Vega-Lite specs', () => {
  it('every figure of the tiny fixture builds the committed spec', async () => {
    const cases = await goldenCases();
    if (UPDATE) {
      for (const file of await readdir(GOLDEN_FOLDER)) await rm(join(GOLDEN_FOLDER, file));
      for (const { file, content } of cases) await writeFile(join(GOLDEN_FOLDER, file), content);
    }
    assert.deepEqual(
      (await readdir(GOLDEN_FOLDER)).sort(),
      cases.map(({ file }) => file).sort(),
      'golden files and figures differ: run npm run test:update-golden',
    );
    for (const { file, content } of cases) {
      assert.equal(
        content,
        await readFile(join(GOLDEN_FOLDER, file), 'utf8'),
        `${file} differs from its golden spec (npm run test:update-golden after a deliberate change)`,
      );
    }
  });

  it('says why the parallel-residual model has no resid_mid figure instead of drawing one', async () => {
    const notDrawn = JSON.parse(await readFile(join(GOLDEN_FOLDER, 'not-drawn.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(notDrawn), ['tiny-pythia-resid-mid']);
    assert.match(notDrawn['tiny-pythia-resid-mid']!, /parallel-residual model .* no resid_mid/);
  });
});
