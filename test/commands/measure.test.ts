import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { UsageError } from '../../src/errors.js';
import { readMeasurementFile } from '../../src/store/open-results.js';
import { normColumns } from '../../src/store/result-tables.js';
import { readMeasured, readTokenRows, type MeasuredFile } from '../support/measured.js';
import { referenceGpt2 } from '../support/reference-gpt2.js';
import { writeTinyGpt2, type TinyModel } from '../support/tiny-gpt2.js';

const PROMPTS = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  'A',
  'Residual streams grow exponentially over the forward pass, or so they say.',
  'One more prompt, of medium length.',
];

describe('measure on a tiny GPT-2 with the real GPT-2 tokenizer', () => {
  let dir: string;
  let tiny: TinyModel;
  let promptsPath: string;
  const run = async (overrides: Partial<MeasureRequest>, name: string): Promise<MeasuredFile> => {
    const outPath = join(dir, `${name}.json`);
    await measure(
      { model: tiny.dir, promptsPath, outPath, batchSize: 8, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false, ...overrides },
      createSilentReporter(),
    );
    return readMeasured(outPath);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-measure-'));
    tiny = await writeTinyGpt2(join(dir, 'tiny'), { nLayers: 3, dModel: 32, nHeads: 4, nCtx: 64, tokenizer: 'gpt2', seed: 21 });
    promptsPath = join(dir, 'prompts.txt');
    await writeFile(promptsPath, `# test prompts\n${PROMPTS.join('\n')}\n`);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('tokenizes with the GPT-2 vocabulary and prepends <|endoftext|>', async () => {
    const result = await run({}, 'basic');
    assert.deepEqual(result.sequences[0]!.ids, [50256, 15496, 995]);
    assert.deepEqual(result.sequences[0]!.tokens, ['<|endoftext|>', 'Hello', ' world']);
    assert.equal(result.sequences.length, PROMPTS.length);
    assert.deepEqual(
      result.sequences.map((s) => s.text),
      PROMPTS,
      'results keep the prompt order',
    );
  });

  it('matches the plain-TypeScript reference for every hook, layer and position', async () => {
    const result = await run({}, 'reference');
    let worst = 0;
    for (const sequence of result.sequences) {
      const reference = referenceGpt2(tiny.weights, tiny.config, sequence.ids);
      for (const hook of result.hooks) {
        for (const [table, metric] of [
          [sequence.norms, 'centered'],
          [sequence.rawNorms, 'raw'],
        ] as const) {
          table[hook]!.forEach((row, layer) =>
            row.forEach((value, position) => {
              const expected = reference[hook][metric][layer]![position]!;
              worst = Math.max(worst, Math.abs(value - expected) / expected);
            }),
          );
        }
      }
    }
    assert.ok(worst < 1e-4 && worst > 0, `max relative error ${worst}`);
    process.stdout.write(`# measure vs reference (GPT-2 tokenizer): max relative error ${worst.toExponential(2)}\n`);
  });

  it('gives the same numbers batched as one prompt at a time', async () => {
    const batched = await run({ batchSize: 5 }, 'batched');
    const single = await run({ batchSize: 1 }, 'single');
    let worst = 0;
    batched.sequences.forEach((sequence, index) => {
      for (const hook of batched.hooks) {
        sequence.norms[hook]!.forEach((row, layer) =>
          row.forEach((value, position) => {
            const other = single.sequences[index]!.norms[hook]![layer]![position]!;
            worst = Math.max(worst, Math.abs(value - other) / other);
          }),
        );
      }
    });
    // Padding can change the order of float32 sums inside matrix kernels, nothing more.
    assert.ok(worst < 1e-5, `batched vs single max relative difference ${worst}`);
    process.stdout.write(`# batched vs one prompt at a time: max relative difference ${worst.toExponential(2)}\n`);
  });

  it('keeps BOS per token but leaves it out of the summary', async () => {
    const result = await run({}, 'bos');
    const tokens = result.sequences.reduce((sum, s) => sum + s.ids.length, 0);
    const summary = result.summary.resid_post!;
    assert.equal(summary[0]!.count, tokens - result.sequences.length);
    const layer = 1;
    const values = result.sequences.flatMap((s) => s.norms.resid_post![layer]!.slice(1));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(summary[layer]!.mean - mean) < 1e-9 * mean);
    assert.deepEqual(result.options.excludePositions, [0]);
    assert.equal(result.sequences[0]!.norms.resid_post![0]!.length, 3, 'BOS is still measured per token');
  });

  it('with --no-exclusions, position 0 counts in the summary; with --no-prepend-bos there is no BOS, and position 0 is still excluded', async () => {
    const included = await run({ exclusions: false }, 'include-bos');
    assert.equal(
      included.summary.resid_pre![0]!.count,
      included.sequences.reduce((sum, s) => sum + s.ids.length, 0),
    );
    assert.deepEqual(included.options.excludePositions, []);
    assert.deepEqual(included.options.excludeTokens, []);
    const noBos = await run({ prependBos: false }, 'no-bos');
    assert.deepEqual(noBos.sequences[0]!.ids, [15496, 995]);
    assert.deepEqual(noBos.options.excludePositions, [0]);
    assert.equal(
      noBos.summary.resid_pre![0]!.count,
      noBos.sequences.reduce((sum, s) => sum + s.ids.length - 1, 0),
    );
  });

  it('excludes position 0 of every sequence and every special token wherever it occurs, and appended EOS; each counted by reason', async () => {
    const jsonl = join(dir, 'specials.jsonl');
    await writeFile(jsonl, '{"ids": [464, 50256, 2068]}\n{"ids": [50256, 464]}\n{"text": "Hello"}\n');
    const outPath = join(dir, 'specials.json');
    await measure(
      {
        model: tiny.dir,
        promptsPath: jsonl,
        outPath,
        batchSize: 2,
        prependBos: true,
        exclusions: true,
        appendEos: 2,
        device: 'cpu',
        threads: 1,
        refresh: false,
      },
      createSilentReporter(),
    );
    const file = await readMeasurementFile(outPath);
    const codes: number[][] = [];
    const kept: number[] = []; // resid_pre centered norms at layer 1 of the kept tokens
    const slot = normColumns(file.measurement.hooks).findIndex((c) => c.hook === 'resid_pre' && c.metric === 'centered');
    for await (const sequence of (await file.tokens()).sequences(file.measurement.hooks)) {
      codes.push([...sequence.exclusions]);
      const length = sequence.ids.length;
      sequence.exclusions.forEach((code, position) => {
        if (code === 0) kept.push(sequence.values[(slot * 3 + 1) * length + position]!);
      });
    }
    // position 0 → 1, special token → 2, appended EOS → 3; BOS (50256) is also GPT-2's EOS
    assert.deepEqual(codes, [
      [1, 2, 0, 3, 3],
      [1, 0, 3, 3],
      [1, 0, 3, 3],
    ]);
    const { measurement } = file;
    assert.deepEqual(measurement.tokens, { measured: 13, excluded: 10, excludedBy: { 'position 0': 3, 'special token': 1, 'appended EOS': 6 } });
    assert.deepEqual(measurement.options.excludeTokens, [{ id: 50256, token: '<|endoftext|>' }]);
    assert.equal(measurement.options.appendEos, 2);
    const summary = measurement.summaries.centered.resid_pre![1]!;
    assert.equal(summary.count, 3);
    assert.ok(Math.abs(summary.mean - kept.reduce((a, b) => a + b, 0) / 3) < 1e-6 * summary.mean);
    const tokens = await readTokenRows(file);
    assert.deepEqual(
      tokens.slice(0, 5).map((row) => row.excluded_as),
      ['position 0', 'special token', null, 'appended EOS', 'appended EOS'],
    );
  });

  it('refuses --append-eos for a model that names no EOS token, before measuring', async () => {
    const noEos = join(dir, 'no-eos');
    await writeTinyGpt2(noEos, { nLayers: 1, dModel: 16, nHeads: 2, nCtx: 32, tokenizer: 'gpt2', seed: 2 });
    for (const [file, key] of [
      ['config.json', 'eos_token_id'],
      ['tokenizer_config.json', 'eos_token'],
    ] as const) {
      const json = JSON.parse(await readFile(join(noEos, file), 'utf8')) as Record<string, unknown>;
      delete json[key];
      await writeFile(join(noEos, file), JSON.stringify(json));
    }
    const outPath = join(dir, 'no-eos.json');
    await assert.rejects(
      measure(
        { model: noEos, promptsPath, outPath, batchSize: 8, prependBos: true, exclusions: true, appendEos: 2, device: 'cpu', threads: 1, refresh: false },
        createSilentReporter(),
      ),
      (error: unknown) =>
        error instanceof UsageError &&
        /^--append-eos: .*no-eos names no EOS token \(config\.json eos_token_id, tokenizer_config\.json eos_token\); drop --append-eos$/.test(error.message),
    );
    await assert.rejects(readFile(outPath), 'no results file');
  });

  it('refuses --append-eos that leaves no room for the prompt', async () => {
    await assert.rejects(
      run({ appendEos: 4, maxTokens: 5 }, 'no-room'),
      /--append-eos 4 leaves no room for the prompts in 5 tokens \(BOS included\); valid: 0…3/,
    );
  });

  it('measures only the requested hooks and records the primary metric and why', async () => {
    const result = await run({ hooks: ['mlp_out', 'resid_pre'] }, 'hooks');
    assert.deepEqual(result.hooks, ['resid_pre', 'mlp_out']);
    assert.deepEqual(Object.keys(result.sequences[0]!.norms).sort(), ['mlp_out', 'resid_pre']);
    assert.equal(result.options.primaryMetric, 'centered');
    assert.match(result.options.primaryMetricReason!, /LayerNorm/);
  });

  it('truncates to --max-tokens and marks the truncated prompts', async () => {
    const result = await run({ maxTokens: 4 }, 'truncated');
    assert.ok(result.sequences.every((s) => s.ids.length <= 4));
    assert.equal(result.sequences[1]!.truncated, true);
    assert.equal(result.sequences[0]!.truncated, undefined);
  });

  it('takes pre-tokenized ids from JSONL exactly as given', async () => {
    const jsonl = join(dir, 'ids.jsonl');
    await writeFile(jsonl, '{"ids": [50256, 464, 2068]}\n{"text": "Hello"}\n');
    const result = await run({ promptsPath: jsonl }, 'ids');
    assert.deepEqual(result.sequences[0]!.ids, [50256, 464, 2068]);
    assert.deepEqual(result.sequences[1]!.ids, [50256, 15496]);
    const text = await readFile(join(dir, 'ids.json'), 'utf8');
    assert.match(text, /"format": "resid-norms\/measurement"/);
  });
});
