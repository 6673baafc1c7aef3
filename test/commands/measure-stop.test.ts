/**
 * Issue 16, class 3: a stop asked for before the first batch (SIGINT/SIGTERM while resolving,
 * reading, tokenizing or building the graph) ends the run at the next phase boundary with an
 * InterruptedError (exit 130) naming the signal, instead of carrying on until the batches; it
 * leaves neither a results file nor a checkpoint.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure } from '../../src/commands/measure.js';
import { ExitCode, InterruptedError } from '../../src/errors.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

describe('measure stopped before its batches', () => {
  let root: string;
  let model: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-stop-'));
    model = (await writeTinyGpt2(join(root, 'model'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 32 })).dir;
    await writeFile(join(root, 'p.txt'), 'hello\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  for (const signal of ['SIGTERM', 'SIGINT']) {
    it(`stops on ${signal} with exit ${ExitCode.interrupted} and writes nothing`, async () => {
      const out = join(root, 'out', `${signal}.json`);
      const request = {
        model,
        promptsPath: join(root, 'p.txt'),
        outPath: out,
        batchSize: 8,
        prependBos: true,
        exclusions: true,
        device: 'cpu' as const,
        threads: 1,
        refresh: false,
        signal: AbortSignal.abort(signal),
      };
      await assert.rejects(measure(request, createSilentReporter()), (error: unknown) => {
        assert.ok(error instanceof InterruptedError);
        assert.equal(error.exitCode, ExitCode.interrupted);
        assert.equal(error.message, `${signal} after resolving the model, before any batch ran; nothing was measured or saved: run the same command again`);
        return true;
      });
      assert.deepEqual(await readdir(join(root, 'out')).catch(() => []), []);
    });
  }

  // Issue 26, class 5: the tables are written with turns of the event loop in between, so a
  // signal is handled at once (a second one exits), and a first one stops the writing there,
  // keeping every batch in the checkpoint for the rerun.
  it('a stop while the tables are written ends the writing within moments, keeping the checkpoint, and the rerun writes them', async () => {
    const prompts = join(root, 'many.txt');
    await writeFile(prompts, Array.from({ length: 400 }, (_, i) => `prompt number ${i} with a few more words in it`).join('\n'));
    const out = join(root, 'tables', 'r.json');
    const controller = new AbortController();
    let turns = 0;
    const ticking = setInterval(() => (turns += 1), 1);
    let stoppedAt = 0;
    const reporter = {
      ...createSilentReporter(),
      progress: (label: string) => ({
        tick: () => {
          if (label.startsWith('writing tables') && stoppedAt === 0) {
            stoppedAt = performance.now();
            controller.abort('SIGTERM');
          }
        },
        done: () => undefined,
      }),
    };
    const request = {
      model,
      promptsPath: prompts,
      outPath: out,
      batchSize: 64,
      prependBos: true,
      exclusions: true,
      device: 'cpu' as const,
      threads: 1,
      refresh: false,
    };
    await assert.rejects(measure({ ...request, signal: controller.signal }, reporter), (error: unknown) => {
      assert.ok(error instanceof InterruptedError, String(error));
      assert.match(
        error.message,
        /^SIGTERM while writing the tables; every batch is kept in ".*r\.json\.checkpoint": run the same command again to write the results from it$/,
      );
      return true;
    });
    clearInterval(ticking);
    assert.ok(stoppedAt > 0, 'the tables were being written');
    assert.ok(turns > 0, 'the event loop turned while the tables were written');
    const left = await readdir(join(root, 'tables'));
    assert.ok(left.includes('r.json.checkpoint') && !left.includes('r.json'), left.join(', '));
    assert.deepEqual(
      left.filter((name) => name.endsWith('.partial')),
      [],
      'the partial tables are removed',
    );
    await measure(request, createSilentReporter());
    assert.ok((await readdir(join(root, 'tables'))).includes('r.json'));
  });
});
