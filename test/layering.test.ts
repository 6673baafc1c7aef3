/**
 * The layering rule of README's "Layout" section, checked on the sources: every import between
 * folders of src/ runs down the LAYERS list (so no folder cycle is possible), and the files of
 * src/commands/ do not borrow from each other.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Bottom first: a folder (or top-level file) may import only from those before it, and from itself. */
export const LAYERS = [
  'errors',
  'package-paths',
  'version',
  'types',
  'io',
  'messages',
  'vocabulary',
  'results',
  'analysis',
  'models',
  'architectures',
  'runtime',
  'graph',
  'weights',
  'duckdb',
  'store',
  'prompts-sources',
  'measure',
  'figures',
  'figure-inputs',
  'rendering',
  'report',
  'sweep',
  'text-tables',
  'commands',
  'cli',
] as const;

/** Imports inside src/commands/ that are a composition, not a borrowed helper. */
const COMMAND_COMPOSITIONS = new Set(['sweep.ts -> measure.ts']); // a sweep runs measure on each member

interface Import {
  from: string;
  to: string;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of every source file (static, dynamic and `import type` alike), as paths under src/. */
function imports(): Import[] {
  return sourceFiles(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/(?:\bfrom|\bimport\s*\()\s*'(\.{1,2}\/[^']+)'/g)].map((match) => ({
      from: relative(SRC, file),
      to: relative(SRC, resolve(dirname(file), match[1] as string)).replace(/\.js$/, '.ts'),
    }));
  });
}

/** The folder of a path under src/, or the file's name without .ts for top-level files. */
function unitOf(path: string): string {
  const [first, ...rest] = path.split('/');
  return rest.length > 0 ? (first as string) : (first as string).replace(/\.(d\.)?ts$/, '');
}

const rank = (unit: string): number => (LAYERS as readonly string[]).indexOf(unit);

function upward(list: readonly Import[]): string[] {
  return list.filter(({ from, to }) => unitOf(from) !== unitOf(to) && rank(unitOf(to)) > rank(unitOf(from))).map(({ from, to }) => `${from} -> ${to}`);
}

describe('layering of src/', () => {
  const all = imports();

  it('finds the imports it checks (the scan is not empty)', () => {
    assert.ok(all.length > 300, `only ${all.length} imports found`);
    assert.ok(all.some(({ from, to }) => from === 'cli/main.ts' && to === 'cli/program.ts'));
  });

  it('places every folder of src/ in LAYERS', () => {
    const units = new Set(sourceFiles(SRC).map((file) => unitOf(relative(SRC, file))));
    assert.deepEqual(
      [...units].filter((unit) => rank(unit) < 0),
      [],
    );
  });

  it('imports only downwards between folders', () => {
    assert.deepEqual(upward(all), []);
  });

  it('lets no command borrow from another (helpers share the command name: fit-junit.ts -> fit.ts)', () => {
    const crossing = all
      .filter(({ from, to }) => unitOf(from) === 'commands' && unitOf(to) === 'commands')
      .map(({ from, to }) => `${from.slice('commands/'.length)} -> ${to.slice('commands/'.length)}`)
      .filter((edge) => {
        const [from, to] = edge.split(' -> ') as [string, string];
        const command = (name: string) => name.replace(/\.ts$/, '').split('-')[0];
        return command(from) !== command(to) && !COMMAND_COMPOSITIONS.has(edge);
      });
    assert.deepEqual(crossing, []);
  });

  it('would catch an upward import (the rule applied to made-up ones)', () => {
    const madeUp = [
      { from: 'models/resolve-model.ts', to: 'messages/reporter.ts' },
      { from: 'models/resolve-model.ts', to: 'cli/cli-io.ts' },
      { from: 'errors.ts', to: 'version.ts' },
    ];
    assert.deepEqual(upward(madeUp), ['models/resolve-model.ts -> cli/cli-io.ts', 'errors.ts -> version.ts']);
  });
});

/** The folders of README's Layout block, top line first: each line's names before its description. */
function readmeLayout(readme: string): string[][] {
  const section = readme.slice(readme.indexOf('### Layout'));
  const block = section.slice(section.indexOf('```\n') + 4, section.indexOf('\n```', section.indexOf('```\n') + 4));
  return block.split('\n').map((line) =>
    line
      .split(/\s{2,}/)[0]!
      .split(' · ')
      .map((name) => name.trim()),
  );
}

/** Lines whose folders do not all sit below every folder of the line above (LAYERS order, top first). */
function misplacedLines(lines: readonly string[][]): string[] {
  return lines
    .slice(1)
    .flatMap((line, i) => (Math.max(...line.map(rank)) < Math.min(...lines[i]!.map(rank)) ? [] : [`${line.join(' · ')} under ${lines[i]!.join(' · ')}`]));
}

describe("README's Layout section", () => {
  const lines = readmeLayout(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it('names every folder of LAYERS once, and nothing else', () => {
    const named = lines.flat();
    assert.deepEqual([...named].sort(), [...LAYERS].sort());
  });

  it('lists them top down in LAYERS order', () => {
    assert.deepEqual(misplacedLines(lines), []);
    assert.deepEqual(misplacedLines([['errors'], ['cli']]), ['cli under errors'], 'the check catches an inverted pair');
  });
});
