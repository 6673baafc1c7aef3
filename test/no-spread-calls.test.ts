/**
 * Issue 26, class 4, closed at its root: no array is spread into a call's arguments in src/
 * (`Math.max(...values)`, `list.push(...more)`), since every argument takes a slot of the call
 * stack and a large array overflows it ("Maximum call stack size exceeded") — after the work,
 * on the data that made the array large. Spreads of arrays whose size is fixed by the code are
 * listed here, each with why it stays small; any other is a failure naming its line.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../src/package-paths.js';

/** `file: text of the spread` → why its array is small whatever the input. */
const BOUNDED: Record<string, string> = {
  'src/graph/hook-norms.ts: this.pending.push(...values)': 'the few outputs of one hook norm',
  'src/sweep/sweep-members.ts: revisions.push(...shorthand.revisions())': "a shorthand's revisions: at most Pythia's 154",
  'src/architectures/gpt-neo.ts: layers.push(...(kinds as AttentionKind[]))': 'one attention_types entry, its kinds times repeat checked ≤ 1024 just before',
  'src/cli/models-command.ts: out.push(panel, header, ...lines.': 'the aliases of one panel of `resid-norms models`',
};

/** Calls whose arguments take a spread: Math.max/min, push/unshift/splice, fromCharCode, apply. */
const SPREAD_CALL = /\b(?:Math\.(?:max|min)|\.push|\.unshift|\.splice|String\.fromCharCode|fromCodePoint)\((?:[^()[\]{}]|\([^()]*\))*?\.\.\./g;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [])),
  );
  return nested.flat();
}

describe('no array spread into a call in src/', () => {
  it('finds none beyond the listed arrays of fixed size', async () => {
    const found: string[] = [];
    const used = new Set<string>();
    for (const file of await sourceFiles(join(PACKAGE_ROOT, 'src'))) {
      const name = relative(PACKAGE_ROOT, file);
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, index) => {
        if (/^\s*(\*|\/\/)/.test(line)) return; // comments
        for (const match of line.matchAll(SPREAD_CALL)) {
          const listed = Object.keys(BOUNDED).find((key) => key.startsWith(`${name}: `) && line.includes(key.slice(name.length + 2)));
          if (listed !== undefined) used.add(listed);
          else found.push(`${name}:${index + 1}: ${match[0]}`);
        }
      });
    }
    assert.deepEqual(found, [], 'spread into a call (use a loop or reduce)');
    assert.deepEqual(
      Object.keys(BOUNDED).filter((key) => !used.has(key)),
      [],
      'listed spreads that are gone: drop them from the list',
    );
  });

  it('the check finds a spread into a call, and not one inside an array literal', () => {
    const matches = (line: string) => [...line.matchAll(SPREAD_CALL)].length;
    assert.equal(matches('const top = Math.max(0, ...values.map((v) => v.x));'), 1);
    assert.equal(matches('rows.push(...more);'), 1);
    assert.equal(matches('rows.push([id, name, ...cells(fit)]);'), 0);
    assert.equal(matches('const all = [...a, ...b];'), 0);
  });
});
