/**
 * `resid-norms merge`: combine the files of a sharded run (`measure --shard i/n`) into the
 * results file and tables a single machine would have written. Every shard must come from the
 * same model revision, prompt set and options, and together they must cover every prompt
 * exactly once. Shards are streamed prompt by prompt (each shard's tables are in prompt order,
 * so a k-way merge keeps the output in prompt order) and the summaries are recomputed.
 */
import { InputError, UsageError, quote } from '../errors.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { formatMeasurement } from '../results/format-measurement.js';
import type { Measurement } from '../results/schema.js';
import { readMeasurementFile, type MeasurementFile } from '../store/open-results.js';
import { ResultTablesWriter, type SequenceNorms } from '../store/result-tables-writer.js';
import { tablePaths } from '../store/result-tables.js';
import { buildMeasurement } from '../measure/build-measurement.js';

/** Fields that must agree between shards, with how to read them. */
const MUST_MATCH: Array<[string, (m: Measurement) => unknown]> = [
  ['model', (m) => m.model],
  ['prompts', (m) => m.prompts],
  ['options', (m) => m.options],
  ['hooks', (m) => m.hooks],
  ['shard count', (m) => m.shard?.count],
];

export async function mergeShards(paths: readonly string[], outPath: string): Promise<Measurement> {
  if (paths.length === 0) throw new UsageError('give the shard files to merge (e.g. results/gpt2.shard-*-of-4.json)');
  const shards: MeasurementFile[] = [];
  for (const path of paths) {
    const file = await readMeasurementFile(path);
    if (!file.measurement.shard) throw new InputError(`${quote(path)} is not a shard file (written without --shard); only shards can be merged`);
    shards.push(file);
  }
  const first = shards[0]!;
  for (const shard of shards.slice(1)) {
    for (const [name, read] of MUST_MATCH) {
      if (JSON.stringify(read(shard.measurement)) !== JSON.stringify(read(first.measurement))) {
        throw new InputError(`${quote(shard.path)} and ${quote(first.path)} differ in ${name}; shards must come from one run`);
      }
    }
  }
  const count = first.measurement.shard!.count;
  if (shards.length > count) throw new InputError(`${shards.length} files given for ${count} shards; give each shard once`);
  const seen = new Map<number, string>();
  for (const { path, measurement } of shards) {
    const other = seen.get(measurement.shard!.index);
    if (other) throw new InputError(`${quote(path)} and ${quote(other)} are both shard ${measurement.shard!.index}/${count}`);
    seen.set(measurement.shard!.index, path);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !seen.has(index));
  if (missing.length > 0) throw new InputError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing; all ${count} are needed`);
  const { measurement } = first;
  const promptCount = measurement.prompts.count;
  const held = shards.reduce((sum, shard) => sum + shard.measurement.tables.prompts.rows, 0);
  if (held !== promptCount) throw new InputError(`the shards hold ${held} prompts; the prompt set has ${promptCount}: give the shards of one run, each once`);

  const writer = ResultTablesWriter.create(tablePaths(outPath), measurement.hooks, measurement.model.nLayers);
  let tables;
  try {
    let expected = 0;
    for await (const sequence of mergeInPromptOrder(shards)) {
      if (sequence.prompt !== expected) {
        throw new InputError(sequence.prompt < expected ? `two shards hold prompt ${sequence.prompt + 1}` : `no shard holds prompt ${expected + 1} of ${promptCount}`);
      }
      writer.add(sequence);
      expected += 1;
    }
    if (expected !== promptCount) throw new InputError(`no shard holds prompt ${expected + 1} of ${promptCount}`);
    tables = writer.finish();
  } catch (error) {
    writer.abort();
    throw error;
  }

  const runtimes = shards.map((shard) => shard.measurement.runtime);
  const seconds = runtimes.reduce((sum, r) => sum + r.seconds, 0);
  const tokens = runtimes.reduce((sum, r) => sum + r.tokens, 0);
  // buildMeasurement adds the primary metric after the run's options, as measure writes them.
  const { primaryMetric: _metric, primaryMetricReason: _reason, ...options } = measurement.options;
  const merged = buildMeasurement({
    model: measurement.model,
    prompts: measurement.prompts,
    options,
    runtime: { ...measurement.runtime, seconds, tokens, tokensPerSecond: seconds > 0 ? tokens / seconds : 0, shards: count },
    hooks: measurement.hooks,
    tables,
  });
  await writeFileAtomic(outPath, formatMeasurement(merged));
  return merged;
}

/** The shards' sequences, smallest prompt index first (each shard streams in prompt order). */
async function* mergeInPromptOrder(shards: readonly MeasurementFile[]): AsyncIterable<SequenceNorms> {
  const streams = await Promise.all(
    shards.map(async (shard) => (await shard.tokens()).sequences(shard.measurement.hooks)[Symbol.asyncIterator]()),
  );
  const heads = await Promise.all(streams.map((stream) => stream.next()));
  for (;;) {
    let best = -1;
    heads.forEach((head, k) => {
      if (!head.done && (best < 0 || head.value.prompt < (heads[best]!.value as SequenceNorms).prompt)) best = k;
    });
    if (best < 0) return;
    yield heads[best]!.value as SequenceNorms;
    heads[best] = await streams[best]!.next();
  }
}
