/**
 * `resid-norms merge`: combine the files of a sharded run (`measure --shard i/n`) into the
 * results file and tables a single machine would have written. Every shard must come from the
 * same model revision, prompt set and options (diagnostics and --massive-dims included), and
 * together they must cover every prompt exactly once. Shards are streamed prompt by prompt
 * (each shard's tables are in prompt order, so a k-way merge keeps the output in prompt order),
 * norms and diagnostic columns together, and every summary is recomputed by the same writer as
 * an unsharded run, fed the same tokens in the same order, so it comes out the same.
 */
import { InputError, UsageError, quote } from '../errors.js';
import { OutputPlan } from '../io/output-plan.js';
import { WriteFailure } from '../io/output-file.js';
import { diagnosticColumns, sequenceDiagnosticColumns, type DiagnosticColumn, type DiagnosticSelection, type DiagnosticShape } from '../results/diagnostics.js';
import { readDiagnostics, recordedSelection, type DiagnosticsInfo } from '../results/diagnostics-info.js';
import { formatMeasurement } from '../results/format-measurement.js';
import type { Measurement, ModelInfo } from '../results/schema.js';
import { measurementInputs, readMeasurementFile, type MeasurementFile } from '../store/open-results.js';
import { ParquetTokenSource } from '../store/parquet-token-source.js';
import type { TokenSource } from '../store/token-source.js';
import { ResultTablesWriter, type SequenceNorms, type TablesOutcome } from '../store/result-tables-writer.js';
import { tablePaths } from '../store/result-tables.js';
import { transformerLensConvention } from '../architectures/conventions.js';
import { buildMeasurement } from '../measure/build-measurement.js';
import { diagnosticsInfo } from '../measure/diagnostics-selection.js';
import { acquireRunLock } from '../measure/run-lock.js';

/** Fields that must agree between shards, with how to read them. */
const MUST_MATCH: Array<[string, (m: Measurement) => unknown]> = [
  // First, by content: two folders of the same name hold other weights (same id, other contentId).
  ['model content (commit sha or weights sha256, whatever their names)', (m) => m.model.contentId ?? null],
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
  if (missing.length > 0)
    throw new InputError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing; all ${count} are needed`);
  const diagnostics = commonDiagnostics(shards);
  const { measurement } = first;
  const promptCount = measurement.prompts.count;
  const held = shards.reduce((sum, shard) => sum + shard.measurement.tables.prompts.rows, 0);
  if (held !== promptCount) throw new InputError(`the shards hold ${held} prompts; the prompt set has ${promptCount}: give the shards of one run, each once`);

  // The merged file and its tables, checked against each other and every shard's files (tables included).
  const tables = tablePaths(outPath);
  const outputs = await OutputPlan.check(
    [
      { flag: '--out', path: outPath },
      { flag: '--out (its tokens table)', path: tables.tokens },
      { flag: '--out (its prompts table)', path: tables.prompts },
    ],
    shards.flatMap((shard) => measurementInputs(shard, 'the shard file')),
  );
  // <out>.lock, as measure takes it: two merges (or a merge and a run) never write one --out at once.
  const releaseLock = acquireRunLock(`${outPath}.lock`, { command: 'merge' });
  try {
    return await writeMerged(shards, outPath, outputs, diagnostics);
  } finally {
    releaseLock();
  }
}

/** The merged tables, prompt by prompt from the shards, then the results file. */
async function writeMerged(
  shards: MeasurementFile[],
  outPath: string,
  outputs: OutputPlan,
  diagnostics: ReturnType<typeof commonDiagnostics>,
): Promise<Measurement> {
  const { measurement } = shards[0]!;
  const count = measurement.shard!.count;
  const promptCount = measurement.prompts.count;
  const tables = tablePaths(outPath);
  const columns = diagnostics?.columns ?? [];
  const sequenceColumns = diagnostics?.sequenceColumns ?? [];
  const sources = await Promise.all(shards.map((shard) => shard.tokens()));
  const restoreScans = await ParquetTokenSource.scanSideBySide(sources);
  const nothingWritten = 'nothing was written (the shards are unchanged): make room or fix the folder, then merge again';
  let writer: ResultTablesWriter;
  try {
    writer = ResultTablesWriter.create(tables, measurement.hooks, measurement.model.nLayers, columns, sequenceColumns);
  } catch (error) {
    await restoreScans();
    throw error instanceof WriteFailure ? error.withAdvice(nothingWritten) : error;
  }
  let written: TablesOutcome;
  try {
    let expected = 0;
    for await (const sequence of mergeInPromptOrder(shards, sources, columns, sequenceColumns)) {
      if (sequence.prompt !== expected) {
        throw new InputError(
          sequence.prompt < expected ? `two shards hold prompt ${sequence.prompt + 1}` : `no shard holds prompt ${expected + 1} of ${promptCount}`,
        );
      }
      writer.add(sequence);
      expected += 1;
    }
    if (expected !== promptCount) throw new InputError(`no shard holds prompt ${expected + 1} of ${promptCount}`);
    written = writer.finish();
  } catch (error) {
    writer.abort();
    throw error instanceof WriteFailure ? error.withAdvice(nothingWritten) : error;
  } finally {
    await restoreScans();
  }

  const runtimes = shards.map((shard) => shard.measurement.runtime);
  const seconds = runtimes.reduce((sum, r) => sum + r.seconds, 0);
  const tokens = runtimes.reduce((sum, r) => sum + r.tokens, 0);
  // buildMeasurement adds the primary metric after the run's options, as measure writes them: the
  // shards' own (a file without a reason gets the one measure gives its kind of norm).
  const { primaryMetric: metric, primaryMetricReason: reason, ...options } = measurement.options;
  const merged = buildMeasurement({
    model: measurement.model,
    primary: { metric, reason: reason ?? transformerLensConvention(measurement.model.normalization ?? 'layernorm', 'pre').reason },
    prompts: measurement.prompts,
    options,
    runtime: { ...measurement.runtime, seconds, tokens, tokensPerSecond: seconds > 0 ? tokens / seconds : 0, shards: count },
    hooks: measurement.hooks,
    tables: written,
    ...(diagnostics && written.diagnostics
      ? { diagnostics: diagnosticsInfo(diagnostics.selection, diagnostics.shape, written.diagnostics, diagnostics.outputHead) }
      : {}),
  });
  await outputs.write(outPath, formatMeasurement(merged));
  return merged;
}

/** The diagnostics of a shard's results file, as a merge compares them (summaries aside). */
function describeDiagnostics(shard: MeasurementFile): string {
  const recorded = readDiagnostics(shard.measurement);
  if (recorded === undefined) return 'none';
  const flags = [
    recorded.massiveDims ? `--massive-dims ${recorded.massiveDims.join(',')}` : '',
    recorded.sinkTokens !== undefined ? `--sink-tokens ${recorded.sinkTokens}` : '',
    recorded.headValueBiases !== undefined ? `value biases ${recorded.headValueBiases}` : '',
  ].filter((flag) => flag !== '');
  return `${recorded.selected.join(',')}${flags.length > 0 ? ` with ${flags.join(', ')}` : ''}`;
}

/**
 * The diagnostics every shard computed, and the columns they add to the tables; undefined when
 * none did. Refused, in one line naming the files, unless every shard has the same selection
 * (and --massive-dims), and unless the columns a shard lists are those its selection gives
 * (a file of another resid-norms version).
 */
function commonDiagnostics(shards: readonly MeasurementFile[]):
  | {
      selection: DiagnosticSelection;
      shape: DiagnosticShape;
      columns: DiagnosticColumn[];
      sequenceColumns: DiagnosticColumn[];
      outputHead: DiagnosticsInfo['outputHead'];
    }
  | undefined {
  const groups = new Map<string, string[]>();
  for (const shard of shards) {
    const key = describeDiagnostics(shard);
    groups.set(key, [...(groups.get(key) ?? []), shard.path]);
  }
  if (groups.size > 1) {
    const named = (paths: string[]) =>
      paths
        .slice(0, 3)
        .map((path) => quote(path))
        .join(', ') + (paths.length > 3 ? ` and ${paths.length - 3} more` : '');
    const parts = [...groups].map(([key, paths]) => `${named(paths)} ${key === 'none' ? 'without diagnostics' : `with ${key}`}`);
    throw new InputError(
      `the shards differ in diagnostics: ${parts.join('; ')}; shards must come from one run (measure every shard with the same --diagnostics, --massive-dims, --sink-tokens and --no-fold-value-biases)`,
    );
  }
  const first = shards[0]!;
  const recorded = readDiagnostics(first.measurement);
  if (recorded === undefined) return undefined;
  const selection: DiagnosticSelection = recordedSelection(recorded);
  const shape = shapeOf(first.measurement.model);
  const columns = diagnosticColumns(selection, shape);
  const sequenceColumns = sequenceDiagnosticColumns(selection, shape);
  for (const shard of shards) {
    const read = readDiagnostics(shard.measurement)!;
    const listed = [...read.columns, ...(read.sequenceColumns ?? [])];
    const expected = [...columns, ...sequenceColumns].map(({ name }) => name);
    if (JSON.stringify(listed) !== JSON.stringify(expected)) {
      throw new InputError(
        `${quote(shard.path)} lists the diagnostic columns ${listed.join(', ')}, but this resid-norms gives ${expected.join(', ')} for its selection; merge with the version that measured it`,
      );
    }
  }
  return { selection, shape, columns, sequenceColumns, outputHead: recorded.outputHead };
}

/** A results file's model as the diagnostic columns see it. */
function shapeOf(model: ModelInfo): DiagnosticShape {
  return { ...model, parallelResidual: model.parallelResidual ?? false };
}

/** The shards' sequences (norms, and the diagnostic columns given), smallest prompt index first (each shard streams in prompt order). */
async function* mergeInPromptOrder(
  shards: readonly MeasurementFile[],
  sources: readonly TokenSource[],
  diagnostics: readonly DiagnosticColumn[],
  sequenceDiagnostics: readonly DiagnosticColumn[],
): AsyncIterable<SequenceNorms> {
  const streams = shards.map((shard, k) => sources[k]!.sequences(shard.measurement.hooks, undefined, diagnostics, sequenceDiagnostics)[Symbol.asyncIterator]());
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
