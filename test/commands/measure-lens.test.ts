/**
 * `measure --diagnostics lens` end to end: the tokens table's lens columns, the results file's
 * summaries (recomputed here from the table), the batch budget that bounds one stream's logits,
 * the refusal of a model without an output head, and stories260K, whose last stream must
 * predict its own greedy continuation. The values themselves are checked against the
 * reference in measure-diagnostics.test.ts (every diagnostic, through checkpoint and Parquet).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { createSilentReporter, type Reporter } from '../../src/messages/reporter.js';
import { measure, type MeasureRequest } from '../../src/commands/measure.js';
import { quantileSorted } from '../../src/analysis/norm-statistics.js';
import { ExitCode, ModelError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { LENS_NO_NEXT } from '../../src/results/diagnostics.js';
import { readDiagnostics } from '../../src/results/diagnostics-info.js';
import { tablePaths } from '../../src/store/result-tables.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyLlama } from '../support/tiny-llama.js';

type Row = Record<string, unknown>;
const STORIES = resolve(PACKAGE_ROOT, '..', 'shared', 'models', 'stories260K');
const storiesPresent = existsSync(join(STORIES, 'model.safetensors')) && existsSync(join(STORIES, 'reference.json'));

async function tokenRows(outPath: string): Promise<Row[]> {
  return (await parquetReadObjects({ file: await asyncBufferFromFile(tablePaths(outPath).tokens) })) as Row[];
}

/** A silent reporter that records the tokens of every measured batch (the progress ticks). */
function batchRecorder(): { reporter: Reporter; batches: number[] } {
  const silent = createSilentReporter();
  const batches: number[] = [];
  return {
    batches,
    reporter: {
      ...silent,
      progress: (label) => ({ tick: (amount = 1) => void (label.startsWith('measuring') && batches.push(amount)), done: () => undefined }),
    },
  };
}

describe('measure --diagnostics lens', () => {
  let dir: string;
  let base: MeasureRequest;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-measure-lens-'));
    const tiny = await writeTinyLlama(join(dir, 'model'), { nLayers: 3, dModel: 32, nHeads: 4, seed: 31 });
    const promptsPath = join(dir, 'prompts.jsonl');
    // BOS (256) first; a special token (256) inside prompt 2 is excluded wherever it is.
    const prompts = [
      [256, 72, 101, 108, 108, 111],
      [256, 84, 104, 101, 32, 99, 97, 116, 32, 115, 97, 116],
      [256, 65, 256, 66, 67],
      [256, 10],
    ];
    await writeFile(promptsPath, prompts.map((ids) => JSON.stringify({ ids })).join('\n'));
    base = { model: tiny.dir, promptsPath, batchSize: 4, prependBos: true, exclusions: true, device: 'cpu', threads: 1, refresh: false };
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('stores nLayers + 1 entropies and int32 ranks per token, −1 at each prompt’s last token, and summarizes the included tokens that have a next token', async () => {
    const outPath = join(dir, 'lens.json');
    const { measurement } = await measure({ ...base, outPath, diagnostics: ['lens'] }, createSilentReporter());
    const recorded = readDiagnostics(measurement)!;
    assert.deepEqual(recorded.columns, ['lens_entropy', 'lens_next_rank']);
    assert.deepEqual(recorded.outputHead, { finalNorm: 'model.norm', unembedding: 'lm_head.weight', tied: false });
    const rows = await tokenRows(outPath);
    const streams = 4;
    const lastOf = new Map<number, number>();
    for (const row of rows) lastOf.set(row.prompt as number, Math.max(lastOf.get(row.prompt as number) ?? 0, row.position as number));
    for (const row of rows) {
      const entropy = row.lens_entropy as number[];
      const rank = row.lens_next_rank as number[];
      assert.equal(entropy.length, streams);
      assert.equal(rank.length, streams);
      entropy.forEach((value) => assert.ok(value >= 0 && value <= Math.log(257) + 1e-5, `entropy ${value}`));
      rank.forEach((value) => assert.ok(Number.isInteger(value)));
      const last = row.position === lastOf.get(row.prompt as number);
      assert.deepEqual(
        rank.map((value) => value === LENS_NO_NEXT),
        new Array<boolean>(streams).fill(last),
        `prompt ${row.prompt as number}, position ${row.position as number}`,
      );
    }
    // The summaries, recomputed from the table: included tokens with a next token.
    const counted = rows.filter((row) => !row.excluded && (row.lens_next_rank as number[])[0]! >= 0);
    assert.equal(counted.length, 4 + 10 + 2 + 0, 'positions 1… of each prompt but its last, the special token inside prompt 3 left out');
    const summaries = recorded.summaries;
    assert.equal(summaries.lens?.tokens, counted.length);
    for (let stream = 0; stream < streams; stream += 1) {
      const ranks = counted.map((row) => (row.lens_next_rank as number[])[stream]!);
      const entropies = Float64Array.from(counted, (row) => (row.lens_entropy as number[])[stream]!).sort();
      assert.equal(summaries.lens!.top1[stream], ranks.filter((rank) => rank === 0).length / counted.length);
      assert.equal(summaries.lens!.top10[stream], ranks.filter((rank) => rank < 10).length / counted.length);
      const entropy = summaries.perLayer.lens_entropy![stream]!;
      assert.equal(entropy.layer, stream);
      assert.equal(entropy.count, counted.length);
      assert.equal(entropy.median, quantileSorted(entropies, 0.5));
      assert.equal(entropy.q05, quantileSorted(entropies, 0.05));
      assert.ok(Math.abs(entropy.mean - entropies.reduce((a, b) => a + b, 0) / entropies.length) < 1e-12);
      assert.equal(summaries.perLayer.lens_next_rank![stream]!.median, quantileSorted(Float64Array.from(ranks).sort(), 0.5));
    }
    assert.ok(summaries.lens!.top10.every((share) => share! >= 0 && share! <= 1));
  });

  it('bounds one stream’s logits per batch: with GPT-2’s 50,257-token vocabulary, batches of at most 667 tokens', async () => {
    const tiny = await writeTinyGpt2(join(dir, 'wide'), { nLayers: 1, dModel: 16, nHeads: 2, nCtx: 256, tokenizer: 'gpt2' });
    const promptsPath = join(dir, 'wide.jsonl');
    // 7 prompts of 100 tokens: 700 tokens, just past the budget (whole prompts per batch: 6, then 1).
    await writeFile(
      promptsPath,
      Array.from({ length: 7 }, (_, i) => JSON.stringify({ ids: Array.from({ length: 100 }, (_, p) => (i * 977 + p * 131) % 50257) })).join('\n'),
    );
    const request = { ...base, model: tiny.dir, promptsPath, batchSize: 64 };
    const plain = batchRecorder();
    await measure({ ...request, outPath: join(dir, 'wide-plain.json') }, plain.reporter);
    assert.deepEqual(plain.batches, [700], 'without the lens, one batch');
    const lens = batchRecorder();
    await measure({ ...request, outPath: join(dir, 'wide-lens.json'), diagnostics: ['lens'] }, lens.reporter);
    assert.deepEqual(lens.batches, [600, 100], 'with the lens, batches of at most ⌊128 MiB / 4 / 50257⌋ = 667 tokens');
  });

  it('refuses, in one line and before any work, a model whose files give no output head; its norms still measure', async () => {
    const tiny = await writeTinyGptNeox(join(dir, 'neox-base'), { nLayers: 2, dModel: 32, nHeads: 4, keys: 'base-model' });
    const outPath = join(dir, 'refused.json');
    await assert.rejects(measure({ ...base, model: tiny.dir, outPath, diagnostics: ['cosines', 'lens'] }, createSilentReporter()), (error: unknown) => {
      assert.ok(error instanceof ModelError, String(error));
      assert.equal(error.exitCode, ExitCode.badModel);
      assert.equal(
        error.message,
        '--diagnostics lens reads the model\'s final norm and unembedding, which this gpt_neox checkpoint does not give (missing tensor "embed_out.weight"); measure without lens',
      );
      return true;
    });
    for (const path of [outPath, `${outPath}.checkpoint`, `${outPath}.lock`, tablePaths(outPath).tokens])
      await assert.rejects(stat(path), `${path} must not exist`);
    await measure({ ...base, model: tiny.dir, outPath, diagnostics: ['cosines'] }, createSilentReporter());
  });

  it('stories260K: at the last stream every next token of its greedy continuation is the top prediction (top-1 share 1)', {
    skip: storiesPresent ? false : `stories260K not found at ${STORIES}; put the shared model folder there to run this test`,
  }, async () => {
    const reference = JSON.parse(await readFile(join(STORIES, 'reference.json'), 'utf8')) as { ids: number[]; greedyNextTokenFromBos: number[] };
    const promptsPath = join(dir, 'stories.jsonl');
    await writeFile(promptsPath, `${JSON.stringify({ ids: [1, ...reference.greedyNextTokenFromBos] })}\n`);
    const { measurement } = await measure(
      { ...base, model: STORIES, promptsPath, outPath: join(dir, 'stories.json'), diagnostics: ['lens'] },
      createSilentReporter(),
    );
    const lens = readDiagnostics(measurement)!.summaries.lens!;
    assert.equal(lens.tokens, reference.greedyNextTokenFromBos.length - 1, 'positions 1…9 (position 0 is excluded, position 10 has no next token)');
    assert.equal(lens.top1.at(-1), 1);
    assert.ok(lens.top1[0]! < 1, 'the embeddings alone do not predict it');
    process.stdout.write(`# stories260K greedy continuation: top-1 share per stream ${lens.top1.map((share) => share!.toFixed(2)).join(' ')}\n`);
  });
});
