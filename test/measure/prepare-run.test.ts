/**
 * The preparation every command that runs prompts shares (src/measure/prepare-run.ts): measure
 * and mechanisms get the same prompts, sequences and refusals from it, so they cannot drift.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { prepareRun, type PrepareRequest } from '../../src/measure/prepare-run.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';

describe('prepareRun', () => {
  let root: string;
  let gpt2: string;
  let neox: string;
  let prompts: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-prepare-'));
    gpt2 = (await writeTinyGpt2(join(root, 'gpt2'), { nLayers: 2, dModel: 16, nHeads: 2, nCtx: 16, seed: 5 })).dir;
    neox = (await writeTinyGptNeox(join(root, 'neox'), { nLayers: 2, dModel: 16, nHeads: 2, seed: 6 })).dir;
    prompts = join(root, 'prompts.txt');
    await writeFile(prompts, 'The river ran on\nA second prompt\nand a third one, much longer than the others are, far longer\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const request = (overrides: Partial<PrepareRequest> = {}): PrepareRequest => ({
    model: gpt2,
    promptsPath: prompts,
    prependBos: true,
    refresh: false,
    ...overrides,
  });

  it('reads, selects and tokenizes the prompts, and names the output from the slug when none is given', async () => {
    const reporter = createSilentReporter();
    const prepared = await prepareRun(
      request({ promptOptions: { selection: { limit: 2, seed: 0 } } }),
      { defaultPath: (slug) => join(root, `${slug}.out.json`) },
      reporter,
    );
    assert.equal(prepared.outPath, join(root, `${prepared.resolved.slug}.out.json`));
    assert.equal(prepared.sequences.length, 2, '--limit 2');
    assert.match(prepared.promptSet.source, /first 2 of 3/);
    assert.deepEqual(prepared.promptSet.prompts, [], 'the prompts are dropped once tokenized');
    assert.equal(prepared.sequences[0]!.ids[0], prepared.bosTokenId, 'BOS prepended');
    assert.equal(prepared.diagnostics, undefined);
    assert.ok(prepared.hooks.includes('resid_mid'));
  });

  it('warns of truncated prompts with their count', async () => {
    const reporter = createSilentReporter();
    const prepared = await prepareRun(request({ maxTokens: 6, outPath: join(root, 'cut.json') }), { defaultPath: () => 'unused' }, reporter);
    const cut = prepared.sequences.filter((sequence) => sequence.truncated).length;
    assert.ok(cut > 0);
    assert.ok(
      reporter.warnings.some((message) => message.startsWith(`${cut} prompt(s) longer than 6 tokens were truncated`)),
      reporter.warnings.join('\n'),
    );
  });

  it('refuses a companion output over an input, as it refuses the output itself', async () => {
    const outPath = join(root, 'companion.json');
    const over = { defaultPath: () => 'unused', companions: () => [prompts] };
    await assert.rejects(prepareRun(request({ outPath }), over, createSilentReporter()), (error: Error) => {
      assert.match(error.message, /--out \(its checkpoint and tables\) ".*prompts\.txt"/);
      return true;
    });
  });

  it('checks the flags against the model before reading its weights', async () => {
    await assert.rejects(
      prepareRun(request({ maxTokens: 99, outPath: join(root, 'x.json') }), { defaultPath: () => 'unused' }, createSilentReporter()),
      UsageError,
    );
    await assert.rejects(
      prepareRun(request({ hooks: ['resid_mid'], model: neox, outPath: join(root, 'x.json') }), { defaultPath: () => 'unused' }, createSilentReporter()),
      /resid_mid/,
    );
  });

  it('says that a parallel-residual model has no resid_mid only to a command that measures hooks', async () => {
    const measures = createSilentReporter();
    await prepareRun(request({ model: neox, outPath: join(root, 'n.json') }), { defaultPath: () => 'unused', measuresHooks: true }, measures);
    assert.ok(
      measures.messages.some((message) => /no resid_mid hook, so it is not measured/.test(message)),
      measures.messages.join('\n'),
    );
    const other = createSilentReporter();
    await prepareRun(request({ model: neox, outPath: join(root, 'n.json') }), { defaultPath: () => 'unused' }, other);
    assert.ok(!other.messages.some((message) => /resid_mid/.test(message)), other.messages.join('\n'));
  });
});
