/**
 * mechanisms under a memory budget too small for its whole graphs: the forward pass block by
 * block and the probes layer by layer (src/commands/mechanisms-forward.ts runForwardStreamed,
 * mechanisms-probes.ts runProbesByLayer) give the whole graphs' numbers, for a sequential and a
 * parallel-residual model; a budget below one block's needs is refused, naming the smallest.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analyzeMechanisms, type MechanismsRequest } from '../../src/commands/mechanisms.js';
import { BudgetTooSmallError } from '../../src/measure/memory-plan.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';

/** Every number of two mechanisms files' layers, side by side, by path. */
function numbers(value: unknown, path = 'layers', found: Array<[string, number]> = []): Array<[string, number]> {
  if (typeof value === 'number') found.push([path, value]);
  else if (value !== null && typeof value === 'object') for (const [key, child] of Object.entries(value)) numbers(child, `${path}.${key}`, found);
  return found;
}

describe('mechanisms --max-memory: block by block', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-mechanisms-streamed-'));
    await writeFile(join(dir, 'prompts.txt'), 'The first prompt of a few words\nA second one, a little longer than the first\nthird\n');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const families = [
    {
      label: 'llama (sequential, BF16)',
      write: (at: string) => writeTinyLlama(at, { nLayers: 3, dModel: 192, nHeads: 4, nKvHeads: 2, dMlp: 384, dtype: 'BF16', scale: 0.08 }),
    },
    { label: 'gpt_neox (parallel residual)', write: (at: string) => writeTinyGptNeox(at, { nLayers: 3, dModel: 192, nHeads: 4, scale: 0.08 }) },
  ];
  for (const [index, family] of families.entries()) {
    it(`gives the whole graphs' numbers: ${family.label}`, async () => {
      const tiny = await family.write(join(dir, `model${index}`));
      const base: MechanismsRequest = {
        model: tiny.dir,
        promptsPath: join(dir, 'prompts.txt'),
        samples: 100,
        seed: 3,
        batchSize: 2,
        prependBos: true,
        device: 'cpu',
        threads: 1,
        refresh: false,
      };
      let minimum = '';
      await assert.rejects(
        analyzeMechanisms({ ...base, outPath: join(dir, 'refused.json'), maxMemory: { bytes: 1e6, source: '--max-memory' } }, createSilentReporter()),
        (error: unknown) => {
          assert.ok(error instanceof BudgetTooSmallError, String(error));
          minimum = /give --max-memory (\d+(?:\.\d+)?)MB/.exec(error.message)?.[1] ?? '';
          return minimum !== '';
        },
      );
      const reporter = createSilentReporter();
      const { mechanisms: streamed } = await analyzeMechanisms(
        { ...base, outPath: join(dir, `streamed${index}.json`), maxMemory: { bytes: Number(minimum) * 1e6, source: '--max-memory' } },
        reporter,
      );
      assert.ok(
        reporter.messages.some((m) => /running it block by block/.test(m)),
        reporter.messages.join('\n'),
      );
      const { mechanisms: whole } = await analyzeMechanisms(
        { ...base, outPath: join(dir, `whole${index}.json`), maxMemory: { bytes: 64e9, source: '--max-memory' } },
        createSilentReporter(),
      );
      const expected = new Map(numbers(whole.layers));
      const actual = numbers(streamed.layers);
      assert.equal(actual.length, expected.size);
      assert.ok(actual.length > 50, 'numbers compared');
      let worst = 0;
      for (const [path, value] of actual) {
        const want = expected.get(path)!;
        // Means to 1e-6 relative; standard errors (differences of close sums) to 1e-4.
        const tolerance = /[Ss]tderr|stderr/.test(path) ? 1e-4 : 1e-6;
        worst = Math.max(worst, Math.abs(value - want) / Math.max(Math.abs(want), 1e-9) / tolerance);
      }
      assert.ok(worst < 1, `streamed mechanisms differ from the whole graphs' by ${worst} of the tolerance`);
      assert.deepEqual(streamed.tokens, whole.tokens);
    });
  }
});
