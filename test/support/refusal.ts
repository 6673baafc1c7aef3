/**
 * What every refusal of the tool looks like, checked in one place for the hostile-input
 * batteries: the exit code, exactly one line on stderr starting with "resid-norms: ", matching
 * the expected message, no stack trace and no "unexpected error", nothing on stdout.
 */
import assert from 'node:assert/strict';
import type { CliResult } from './run-cli.js';

export function assertRefusal(result: CliResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, `exit code ${result.code}, expected ${code}; stderr:\n${result.stderr}`);
  const lines = result.stderr
    .trimEnd()
    .split('\n')
    .filter((line) => !line.startsWith('warning: '));
  assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
  assert.match(lines[0]!, /^resid-norms: /);
  assert.match(lines[0]!, message);
  assert.doesNotMatch(lines[0]!, /unexpected error|Maximum call stack| {4}at /);
  assert.doesNotMatch(result.stderr, /\n\s+at \S+ \(/, 'no stack trace');
}
