/** The README's exit-code table lists every code the CLI can return (issue 16: 130 was missing). */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../../src/errors.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

describe('README exit codes', () => {
  it('has a row for every exit code, and for 70 (a bug)', async () => {
    const text = await readFile(README, 'utf8');
    const table = text.slice(text.indexOf('## Exit codes'));
    const rows = new Set([...table.matchAll(/^\| (\d+) \|/gm)].map((match) => Number(match[1])));
    for (const code of [...Object.values(ExitCode), 70]) assert.ok(rows.has(code), `exit code ${code} is not in the README's table`);
  });
});
