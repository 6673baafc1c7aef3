/**
 * `resid-norms mechanisms` as a user runs it: the file and the table, then bad input — one
 * line naming the bad value and what is valid, the right exit code, no stack trace, no file —
 * and a report that draws the mechanisms figures.
 */
import assert from 'node:assert/strict';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { readMechanismsFile } from '../../src/results/read-mechanisms.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** One line on stderr, no stack trace. */
function assertOneLine(stderr: string): void {
  assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

describe('resid-norms mechanisms, end to end', () => {
  let root: string;
  let model: string;
  let prompts: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-mechanisms-cli-'));
    model = (await writeTinyGpt2(join(root, 'tiny-model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32, seed: 4 })).dir;
    prompts = join(root, 'prompts.txt');
    await writeFile(prompts, 'The cat sat on the mat.\nAnother line of text, a little longer than the first one.\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('writes the mechanisms file and prints one row per layer; quiet on stderr but the last line when not a terminal', async () => {
    const out = join(root, 'out', 'm.json');
    const result = await runCli(['mechanisms', '--model', model, '--prompts', prompts, '--out', out, '--samples', '50', '--seed', '3']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^centered norms; rand = mean over 50 normalised N\(0, I\) inputs/);
    assert.match(lines[1]!, /^layer +mlp_out +MLP\(rand\) +attn_out/);
    assert.equal(lines.length, 2 + 3);
    assert.doesNotMatch(result.stderr, /\r|%/, 'no progress bar when stderr is not a terminal');
    const file = await readMechanismsFile(out);
    assert.equal(file.options.samples, 50);
    assert.equal(file.options.seed, 3);
    assert.equal(file.layers.length, 3);
    // The same seed gives the same file (but the timings).
    const again = join(root, 'out', 'm2.json');
    assert.equal((await runCli(['-q', 'mechanisms', '--model', model, '--prompts', prompts, '--out', again, '--samples', '50', '--seed', '3'])).code, 0);
    const strip = (text: string) => text.replace(/"seconds": [0-9.e+-]+/, '');
    assert.equal(strip(await readFile(again, 'utf8')), strip(await readFile(out, 'utf8')));
  });

  const refusals: Array<{ label: string; args: () => string[]; code: number; message: RegExp }> = [
    { label: '--samples 0', args: () => ['--samples', '0'], code: ExitCode.usage, message: /--samples.*expected a whole number from 1 to 10000, got "0"/ },
    { label: '--samples 10001', args: () => ['--samples', '10001'], code: ExitCode.usage, message: /expected a whole number from 1 to 10000, got "10001"/ },
    { label: '--samples abc', args: () => ['--samples', 'abc'], code: ExitCode.usage, message: /got "abc"/ },
    { label: '--seed -1', args: () => ['--seed', '-1'], code: ExitCode.usage, message: /--seed/ },
    { label: '--device tpu', args: () => ['--device', 'tpu'], code: ExitCode.usage, message: /tpu/ },
    {
      label: '--max-tokens beyond the context',
      args: () => ['--max-tokens', '33'],
      code: ExitCode.usage,
      message: /--max-tokens 33 exceeds the context length .*valid: 1…32/,
    },
    { label: '--out over the model', args: () => ['--out', join(model, 'config.json')], code: ExitCode.usage, message: /--out/ },
  ];
  for (const { label, args, code, message } of refusals) {
    it(`refuses ${label} in one line, writing nothing`, async () => {
      const out = join(root, `refused-${label.replace(/\W+/g, '-')}.json`);
      const result = await runCli(['mechanisms', '--model', model, '--prompts', prompts, '--out', out, ...args()]);
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, message);
      assertOneLine(result.stderr);
      assert.equal(await exists(out), false);
    });
  }

  it('refuses prompts with no token after position 0 (exit 3), writing nothing', async () => {
    const short = join(root, 'short.jsonl');
    await writeFile(short, '{"ids": [5]}\n{"ids": [7]}\n');
    const out = join(root, 'short.json');
    const result = await runCli(['mechanisms', '--model', model, '--prompts', short, '--out', out]);
    assert.equal(result.code, ExitCode.badInput, result.stderr);
    assert.match(result.stderr, /gives no token outside position 0 and the special tokens/);
    assertOneLine(result.stderr);
    assert.equal(await exists(out), false);
  });

  it('report draws the three mechanisms figures from a mechanisms file', async () => {
    const out = join(root, 'for-report.json');
    assert.equal((await runCli(['-q', 'mechanisms', '--model', model, '--prompts', prompts, '--out', out, '--samples', '20'])).code, 0);
    const folder = join(root, 'report');
    const result = await runCli(['report', out, '--out', folder]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(join(folder, 'figures'))).sort(), ['activation-rate.svg', 'attn-random.svg', 'mlp-random.svg']);
    const summary = await readFile(join(folder, 'summary.md'), 'utf8');
    assert.match(summary, /activation-rate/);
    const fit = await runCli(['fit', out]);
    assert.equal(fit.code, ExitCode.badInput);
    assert.match(fit.stderr, /is a mechanisms file, which has nothing to fit/);
  });
});
