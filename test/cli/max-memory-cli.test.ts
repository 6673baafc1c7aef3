/**
 * --max-memory on the command line: sizes with units, RESID_NORMS_MAX_MEMORY as the default, a
 * bad size refused as a flag error, and a budget below one block's needs refused before any work
 * (exit 2, one line naming the smallest budget that works, no file written).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { ExitCode, InterruptedError } from '../../src/errors.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { parseMemorySize } from '../../src/runtime/memory-allocation.js';
import { runCli } from '../support/run-cli.js';
import { writeTinyLlama } from '../support/tiny-llama.js';

describe('resid-norms measure --max-memory', () => {
  let root: string;
  let model: string;
  let prompts: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-max-memory-'));
    model = (await writeTinyLlama(join(root, 'model'), { nLayers: 3, dModel: 128, nHeads: 4, dMlp: 256 })).dir;
    prompts = join(root, 'prompts.txt');
    await writeFile(prompts, 'Hello there\nSecond prompt, a little longer\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('reads sizes in decimal and binary units, and plain bytes', () => {
    assert.equal(parseMemorySize('4GB'), 4e9);
    assert.equal(parseMemorySize('1.5GiB'), 1.5 * 2 ** 30);
    assert.equal(parseMemorySize('512M'), 512 * 2 ** 20);
    assert.equal(parseMemorySize(' 800 mb '), 800e6);
    assert.equal(parseMemorySize('123456'), 123456);
    for (const bad of ['', 'GB', '4 XB', '-1GB', '0', '1e9', '4GB5', '2PiB']) assert.equal(parseMemorySize(bad), undefined, bad);
  });

  it('refuses a budget below the smallest that works, in one line, before any work; that budget then works', async () => {
    const out = join(root, 'small.json');
    const refused = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, '--max-memory', '1MB']);
    assert.equal(refused.code, ExitCode.usage, refused.stderr);
    const lines = refused.stderr.trim().split('\n');
    assert.equal(lines.length, 1, refused.stderr);
    const match =
      /^resid-norms: --max-memory \(1 MB\) is too small for this model: one block's float32 weights \(\d+ kB\), .* need at least (\S+) MB with the process itself; give --max-memory (\S+MB) or more/.exec(
        lines[0]!,
      );
    assert.ok(match, lines[0]);
    assert.deepEqual(
      (await readdir(root)).filter((name) => name.startsWith('small')),
      [],
      'nothing written',
    );
    const works = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, '--max-memory', match[2]!]);
    assert.equal(works.code, 0, works.stderr);
    assert.match(works.stderr, /running it block by block/);
  });

  it('a refused budget creates nothing: not the --out folder, nor a lock or checkpoint', async () => {
    const fresh = join(root, 'fresh');
    const refused = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', join(fresh, 'deeper', 'run.json'), '--max-memory', '1MB']);
    assert.equal(refused.code, ExitCode.usage, refused.stderr);
    assert.match(refused.stderr, /^resid-norms: --max-memory \(1 MB\) is too small for this model/);
    assert.deepEqual(
      (await readdir(root)).filter((name) => name.startsWith('fresh')),
      [],
      'no folder left behind',
    );
  });

  it('a run stopped after its folder was made, before a batch is kept, removes the folder again; one that kept batches keeps it', async () => {
    const fresh = join(root, 'stopped');
    const outPath = join(fresh, 'deeper', 'run.json');
    const base: MeasureRequest = {
      model,
      promptsPath: prompts,
      outPath,
      batchSize: 1,
      prependBos: true,
      exclusions: true,
      device: 'cpu',
      threads: 1,
      refresh: false,
    };
    // The smallest budget that works streams the model (the refusal names it).
    const refusal = await measure({ ...base, maxMemory: { bytes: 1e6, source: '--max-memory' } }, createSilentReporter()).then(
      () => assert.fail('1 MB was not refused'),
      (error: Error) => error.message,
    );
    const smallest = /give --max-memory ([\d.]+)MB/.exec(refusal);
    assert.ok(smallest, refusal);
    const request: MeasureRequest = { ...base, maxMemory: { bytes: Number(smallest[1]) * 1e6, source: '--max-memory' } };
    // The streamed run's notice comes once the folder and the lock exist, before the first batch.
    const controller = new AbortController();
    const early = { ...createSilentReporter(), info: (message: string) => void (/running it block by block/.test(message) && controller.abort()) };
    await assert.rejects(measure({ ...request, signal: controller.signal }, early), InterruptedError);
    assert.deepEqual(
      (await readdir(root)).filter((name) => name.startsWith('stopped')),
      [],
      'no folder left behind',
    );
    // The whole graph stopped after the first of two batches: the checkpoint is kept, and so is its folder.
    const later = new AbortController();
    const progress = { tick: () => later.abort(), done: () => undefined };
    const afterOne = { ...createSilentReporter(), progress: () => progress };
    await assert.rejects(measure({ ...base, maxMemory: { bytes: 64e9, source: '--max-memory' }, signal: later.signal }, afterOne), InterruptedError);
    assert.ok((await readdir(join(fresh, 'deeper'))).includes('run.json.checkpoint'), 'the checkpoint stays');
  });

  it('takes its default from RESID_NORMS_MAX_MEMORY, checked like the flag; the flag wins', async () => {
    const out = join(root, 'env.json');
    const fromEnv = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out], { env: { RESID_NORMS_MAX_MEMORY: '2MB' } });
    assert.equal(fromEnv.code, ExitCode.usage);
    assert.match(fromEnv.stderr, /^resid-norms: RESID_NORMS_MAX_MEMORY \(2 MB\) is too small/);
    const flag = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, '--max-memory', '64GB'], {
      env: { RESID_NORMS_MAX_MEMORY: '2MB' },
    });
    assert.equal(flag.code, 0, flag.stderr);
    assert.doesNotMatch(flag.stderr, /block by block/);
    const bad = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out], { env: { RESID_NORMS_MAX_MEMORY: 'lots' } });
    assert.equal(bad.code, ExitCode.usage);
    assert.match(bad.stderr, /RESID_NORMS_MAX_MEMORY "lots" is not a size; valid: a number and a unit, e.g. 4GB/);
    const badFlag = await runCli(['measure', '--model', model, '--prompts', prompts, '--out', out, '--max-memory', '4 parsecs']);
    assert.equal(badFlag.code, ExitCode.usage);
    assert.match(badFlag.stderr, /--max-memory.*expected a size with its unit .*got "4 parsecs"/);
  });

  it('weights and mechanisms take --max-memory too: one block that does not fit is refused in one line', async () => {
    const commands = [
      ['-q', 'weights', '--model', model, '--out', join(root, 'w.weights.json'), '--max-memory', '1MB'],
      ['-q', 'mechanisms', '--model', model, '--prompts', prompts, '--out', join(root, 'm.mechanisms.json'), '--max-memory', '1MB'],
    ];
    for (const args of commands) {
      const refused = await runCli(args);
      assert.equal(refused.code, ExitCode.usage, `${args[1]}: ${refused.stderr}`);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.match(refused.stderr, /^resid-norms: --max-memory \(1 MB\) is too small for this model.*give --max-memory \S+ or more/);
    }
    const fits = await runCli(['weights', '--model', model, '--out', join(root, 'w.weights.json'), '--max-memory', '1GB']);
    assert.equal(fits.code, 0, fits.stderr);
  });
});
