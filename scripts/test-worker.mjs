// One worker of scripts/run-tests.mjs, run by node's test runner as a test file of its own.
// It takes the next test file from the shared queue, runs its tests as one suite named after
// the file, and takes the next when they have finished, until the queue is empty; so the
// workers share the files as they go, and none idles while another still has a long list.
import { appendFileSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import { pathToFileURL } from 'node:url';

const queue = process.env.RESID_NORMS_TEST_QUEUE;
if (queue === undefined) throw new Error('scripts/test-worker.mjs runs under scripts/run-tests.mjs, which sets RESID_NORMS_TEST_QUEUE');

/** The first pending entry this worker wins (a rename succeeds for one worker only), or undefined when none is left. */
function claimNext() {
  for (const entry of readdirSync(join(queue, 'pending')).sort()) {
    const claimed = join(queue, 'claimed', `${entry}.${process.pid}`);
    try {
      renameSync(join(queue, 'pending', entry), claimed);
    } catch (error) {
      if (error.code === 'ENOENT') continue; // another worker took it
      throw error;
    }
    return JSON.parse(readFileSync(claimed, 'utf8'));
  }
  return undefined;
}

for (let test = claimNext(); test !== undefined; test = claimNext()) {
  const started = performance.now();
  await describe(test.name, async () => {
    await import(pathToFileURL(test.path).href);
  });
  const seconds = (performance.now() - started) / 1000;
  appendFileSync(join(queue, 'durations.jsonl'), `${JSON.stringify({ name: test.name, seconds })}\n`);
}
