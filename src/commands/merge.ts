/**
 * `resid-norms merge`: combine the files of a sharded run (`measure --shard i/n`) into the one
 * results file a single machine would have written. Every shard must come from the same model
 * revision, prompt set and options, and together they must cover every prompt exactly once.
 */
import { summarizeMeasurement } from '../analysis/norm-statistics.js';
import { InputError, UsageError, quote } from '../errors.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { formatMeasurement } from '../results/format-measurement.js';
import { readMeasurement } from '../results/read-measurement.js';
import type { Measurement, SequenceResult } from '../results/schema.js';

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
  const shards: Array<{ path: string; measurement: Measurement }> = [];
  for (const path of paths) {
    const measurement = await readMeasurement(path);
    if (!measurement.shard) throw new InputError(`${quote(path)} is not a shard file (written without --shard); only shards can be merged`);
    shards.push({ path, measurement });
  }
  const [first] = shards;
  for (const { path, measurement } of shards.slice(1)) {
    for (const [name, read] of MUST_MATCH) {
      if (JSON.stringify(read(measurement)) !== JSON.stringify(read(first!.measurement))) {
        throw new InputError(`${quote(path)} and ${quote(first!.path)} differ in ${name}; shards must come from one run`);
      }
    }
  }
  const count = first!.measurement.shard!.count;
  const seen = new Map<number, string>();
  for (const { path, measurement } of shards) {
    const other = seen.get(measurement.shard!.index);
    if (other) throw new InputError(`${quote(path)} and ${quote(other)} are both shard ${measurement.shard!.index}/${count}`);
    seen.set(measurement.shard!.index, path);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !seen.has(index));
  if (missing.length > 0) throw new InputError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing; all ${count} are needed`);

  const promptCount = first!.measurement.prompts.count;
  const sequences: Array<SequenceResult | undefined> = new Array(promptCount);
  for (const { path, measurement } of shards) {
    measurement.shard!.sequenceIndices.forEach((index, position) => {
      if (sequences[index] !== undefined) throw new InputError(`${quote(path)} repeats prompt ${index + 1}, which another shard holds`);
      sequences[index] = measurement.sequences[position];
    });
  }
  const absent = sequences.findIndex((sequence) => sequence === undefined);
  if (absent >= 0) throw new InputError(`no shard holds prompt ${absent + 1} of ${promptCount}`);

  const runtimes = shards.map(({ measurement }) => measurement.runtime);
  const seconds = runtimes.reduce((sum, r) => sum + r.seconds, 0);
  const tokens = runtimes.reduce((sum, r) => sum + r.tokens, 0);
  const { shard: _dropped, ...rest } = first!.measurement;
  const merged: Measurement = {
    ...rest,
    runtime: { ...first!.measurement.runtime, seconds, tokens, tokensPerSecond: seconds > 0 ? tokens / seconds : 0, shards: count },
    sequences: sequences as SequenceResult[],
    summary: {},
  };
  merged.summary = summarizeMeasurement(merged);
  await writeFileAtomic(outPath, formatMeasurement(merged));
  return merged;
}
