/**
 * Open a results file of `measure` with its per-token values: version 2 (tables beside the
 * file, read through DuckDB when first needed) or version 1 (values inline, served from
 * memory); either way callers see the version-2 document and a TokenSource. Also tells results
 * files from weights files, for the commands that take both.
 */
import { dirname, join } from 'node:path';
import { summarizeHook } from '../analysis/norm-statistics.js';
import { InputError, quote } from '../errors.js';
import { describeFormat, readJsonDocument } from '../results/read-json.js';
import { validateMeasurement } from '../results/read-measurement.js';
import { validateWeightsFile } from '../results/read-weights.js';
import { MEASUREMENT_FORMAT, MEASUREMENT_VERSION, type LayerSummary, type Measurement, type MeasurementV1 } from '../results/schema.js';
import { NORM_METRICS, type HookName, type NormMetric } from '../vocabulary/hooks.js';
import { WEIGHTS_FORMAT, type WeightsFile } from '../results/weights-schema.js';
import { MECHANISMS_FORMAT, type MechanismsFile } from '../results/mechanisms-schema.js';
import { validateMechanismsFile } from '../results/read-mechanisms.js';
import { ParquetTokenSource } from './parquet-token-source.js';
import { normColumns, type ResultTables } from './result-tables.js';
import type { InputFile } from '../io/output-guard.js';
import { SequencesTokenSource } from './sequences-token-source.js';
import type { TokenSource } from './token-source.js';

export interface MeasurementFile {
  path: string;
  measurement: Measurement;
  /** The tables beside it (version 2; version 1 keeps its values inline). */
  tables?: ResultTables;
  /** The file's per-token values; opened once, on first use. */
  tokens(): Promise<TokenSource>;
}

export type ResultsDocument =
  | { kind: 'measurement'; file: MeasurementFile }
  | { kind: 'weights'; weights: WeightsFile }
  | { kind: 'mechanisms'; mechanisms: MechanismsFile };

export async function readResultsDocument(path: string): Promise<ResultsDocument> {
  const data = await readJsonDocument(path, 'results file', '`resid-norms measure` or `resid-norms weights`');
  const { format, found } = describeFormat(data);
  if (format === WEIGHTS_FORMAT) return { kind: 'weights', weights: validateWeightsFile(data, path) };
  if (format === MECHANISMS_FORMAT) return { kind: 'mechanisms', mechanisms: validateMechanismsFile(data, path) };
  if (format === MEASUREMENT_FORMAT) return { kind: 'measurement', file: measurementFile(validateMeasurement(data, path), path) };
  throw new InputError(
    `${quote(path)} is not a resid-norms results file (${found}; expected format "${MEASUREMENT_FORMAT}", "${WEIGHTS_FORMAT}" or "${MECHANISMS_FORMAT}")`,
  );
}

/** The files a results document is read from (the JSON and, for a measurement, its tables), as inputs an output may not replace. */
export function documentInputs(path: string, document: ResultsDocument, what = 'the input file'): InputFile[] {
  const tables = document.kind === 'measurement' ? document.file.tables : undefined;
  return [
    { path, what },
    ...(tables
      ? [
          { path: tables.tokens, what: `a table of ${quote(path)}` },
          { path: tables.prompts, what: `a table of ${quote(path)}` },
        ]
      : []),
  ];
}

/** The same for an opened results file of `measure`. */
export function measurementInputs(file: MeasurementFile, what = 'the input file'): InputFile[] {
  return documentInputs(file.path, { kind: 'measurement', file }, what);
}

export async function readMeasurementFile(path: string): Promise<MeasurementFile> {
  const document = await readResultsDocument(path);
  if (document.kind !== 'measurement')
    throw new InputError(`${quote(path)} is a ${document.kind} file; give a results file written by \`resid-norms measure\``);
  return document.file;
}

/** A parsed results document of either version, as read from `path`. */
export function measurementFile(document: Measurement | MeasurementV1, path: string): MeasurementFile {
  return document.version === 1 ? fromVersion1(document, path) : fromVersion2(document, path);
}

function fromVersion2(measurement: Measurement, path: string): MeasurementFile {
  let opened: Promise<TokenSource> | undefined;
  const tables = { tokens: join(dirname(path), measurement.tables.tokens.name), prompts: join(dirname(path), measurement.tables.prompts.name) };
  return {
    path,
    measurement,
    tables,
    tokens: () =>
      (opened ??= ParquetTokenSource.open(tables, {
        nLayers: measurement.model.nLayers,
        tokens: measurement.tables.tokens.rows,
        prompts: measurement.tables.prompts.rows,
        columns: normColumns(measurement.hooks).map(({ name }) => name),
        label: path,
        runId: measurement.tables.runId,
      })),
  };
}

/** A version-1 document as version 2: summaries of both metrics from its sequences; tables in memory. */
function fromVersion1(v1: MeasurementV1, path: string): MeasurementFile {
  const { sequences, shard, ...rest } = v1;
  const { nLayers } = v1.model;
  const excludePositions = v1.options.excludePositions;
  // A file without sequences (summary only) keeps its own summary of the primary metric.
  const summaries = Object.fromEntries(
    NORM_METRICS.map((metric) => [
      metric,
      sequences.length === 0
        ? metric === v1.options.primaryMetric
          ? v1.summary
          : {}
        : Object.fromEntries(v1.hooks.map((hook) => [hook, summarizeHook(sequences, hook, metric, nLayers, excludePositions)])),
    ]),
  ) as Record<NormMetric, Partial<Record<HookName, LayerSummary[]>>>;
  const measured = sequences.reduce((sum, sequence) => sum + sequence.ids.length, 0);
  const excluded = sequences.reduce((sum, sequence) => sum + excludePositions.filter((position) => position < sequence.ids.length).length, 0);
  const promptIndices = shard?.sequenceIndices ?? sequences.map((_, index) => index);
  const measurement: Measurement = {
    ...rest,
    version: MEASUREMENT_VERSION,
    tokens: { measured, excluded },
    summary: summaries[v1.options.primaryMetric],
    summaries,
    tables: { tokens: { name: 'inline (version 1)', rows: measured }, prompts: { name: 'inline (version 1)', rows: sequences.length } },
    ...(shard ? { shard: { index: shard.index, count: shard.count } } : {}),
  };
  const source = new SequencesTokenSource(sequences, promptIndices, nLayers, excludePositions);
  return { path, measurement, tokens: async () => source };
}
