/** What tests of resumed, sharded and merged runs share: comparing their tables, and stopping a run after some batches. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createSilentReporter, type Reporter } from '../../src/messages/reporter.js';
import { tablePaths } from '../../src/store/result-tables.js';

/** The tables of two results files hold the same bytes. */
export async function assertSameTables(path: string, expected: string): Promise<void> {
  for (const table of ['tokens', 'prompts'] as const) {
    assert.ok(
      (await readFile(tablePaths(path)[table])).equals(await readFile(tablePaths(expected)[table])),
      `${table} table of ${path} differs from ${expected}'s`,
    );
  }
}

/** A reporter whose progress aborts the run after `batches` batches. */
export function interruptAfter(batches: number, controller: AbortController): Reporter {
  const silent = createSilentReporter();
  let ticks = 0;
  return { ...silent, progress: () => ({ tick: () => void (++ticks > batches && controller.abort()), done: () => undefined }) };
}
