/**
 * examples/ holds what `npm run examples` makes from the embedded demo model. This test fails when
 * it is stale — when the demo model or the measurement code would now give other numbers, or when
 * fit, plot or report would now draw or write anything differently — and it checks that
 * regenerating unchanged examples leaves every committed byte as it was (so the README's
 * `npm run examples` leaves a clean work tree).
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { EXAMPLE_FILES, maxRelativeDifference, regenerateExamples } from '../../scripts/examples.js';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)])));
  return nested.flat().sort();
}

const committed = (file: string) => join(PACKAGE_ROOT, file);
const present = existsSync(committed(EXAMPLE_FILES.measurement)) && existsSync(join(PACKAGE_ROOT, 'models', 'demo-gpt2', 'config.json'));

describe('examples/ are up to date (npm run examples regenerates them)', { skip: present ? false : 'examples/ or the demo model is missing' }, () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-examples-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('regenerating them from a copy changes no byte: same numbers from the model, same fit, figures and report', async () => {
    await cp(committed('examples'), join(root, 'examples'), { recursive: true });
    const replaced = await regenerateExamples(root, 'all');
    assert.deepEqual(replaced, [], `the model now gives other numbers in ${replaced.join(', ')}: run \`npm run examples\``);
    const made = (await listFiles(join(root, 'examples'))).map((file) => relative(root, file));
    const kept = (await listFiles(committed('examples'))).map((file) => relative(PACKAGE_ROOT, file));
    assert.deepEqual(made, kept, 'examples/ holds other files than npm run examples makes');
    for (const file of made) {
      assert.ok((await readFile(join(root, file))).equals(await readFile(committed(file))), `${file} is stale: run \`npm run examples\``);
    }
  });

  it('tells numbers apart by relative difference, and any other change as infinitely different', () => {
    assert.equal(maxRelativeDifference({ a: [1, 2], b: 'x' }, { a: [1, 2], b: 'x' }), 0);
    assert.ok(Math.abs(maxRelativeDifference({ a: [1, 2.0001] }, { a: [1, 2] }) - 5e-5) < 1e-12);
    assert.equal(maxRelativeDifference({ a: [1, 2] }, { a: [1, 2, 3] }), Infinity);
    assert.equal(maxRelativeDifference({ a: 1 }, { b: 1 }), Infinity);
    assert.equal(maxRelativeDifference({ a: 'x' }, { a: 'y' }), Infinity);
  });
});
