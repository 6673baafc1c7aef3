/**
 * Read and validate a results file written by `measure`. Checks in the order a person would
 * want to hear about problems: not JSON, not a results file, unknown version, then the first
 * schema violation (with its JSON path), then cross-field consistency.
 */
import { InputError, quote } from '../errors.js';
import { parseJsonText, readJsonDocument, validateDocument, type DocumentKind } from './read-json.js';
import { MEASUREMENT_FORMAT, MEASUREMENT_VERSION, MeasurementSchema, MeasurementV1Schema, type Measurement, type MeasurementV1 } from './schema.js';

const PRODUCER = '`resid-norms measure`';
const SUPPORTED = `${MEASUREMENT_VERSION} (and 1)`;

export const MEASUREMENT_KIND: DocumentKind<Measurement> = {
  label: 'results',
  producer: PRODUCER,
  format: MEASUREMENT_FORMAT,
  version: MEASUREMENT_VERSION,
  supported: SUPPORTED,
  schema: MeasurementSchema,
  check: (measurement, path) => checkConsistency(measurement, path),
};

const MEASUREMENT_V1_KIND: DocumentKind<MeasurementV1> = {
  label: 'results',
  producer: PRODUCER,
  format: MEASUREMENT_FORMAT,
  version: 1,
  supported: SUPPORTED,
  schema: MeasurementV1Schema,
  check: (measurement, path) => checkVersion1(measurement, path),
};

export async function readMeasurement(path: string): Promise<Measurement | MeasurementV1> {
  return validateMeasurement(await readJsonDocument(path, 'results file', PRODUCER), path);
}

export function parseMeasurement(text: string, path: string): Measurement | MeasurementV1 {
  return validateMeasurement(parseJsonText(text, path, 'results file', PRODUCER), path);
}

/** Validate parsed JSON as a results file of `measure`, of either version. */
export function validateMeasurement(data: unknown, path: string): Measurement | MeasurementV1 {
  const version = typeof data === 'object' && data !== null ? (data as { version?: unknown }).version : undefined;
  return version === 1 ? validateDocument(data, path, MEASUREMENT_V1_KIND) : validateDocument(data, path, MEASUREMENT_KIND);
}

/** What the schema cannot express: summaries of every hook and layer, tables as long as the token count. */
function checkConsistency(measurement: Measurement, path: string): void {
  const { nLayers } = measurement.model;
  for (const [name, table] of [
    ['summary', measurement.summary],
    ['summaries.centered', measurement.summaries.centered],
    ['summaries.raw', measurement.summaries.raw],
  ] as const) {
    for (const hook of measurement.hooks) {
      const rows = table[hook];
      if (rows === undefined || rows.length !== nLayers) {
        throw new InputError(`${quote(path)}: ${name}.${hook} has ${rows?.length ?? 'no'} layers; the model has ${nLayers}`);
      }
    }
  }
  if (measurement.tables.tokens.rows !== measurement.tokens.measured || measurement.tokens.excluded > measurement.tokens.measured) {
    throw new InputError(
      `${quote(path)}: tokens (${measurement.tokens.measured} measured, ${measurement.tokens.excluded} excluded) do not match the tokens table (${measurement.tables.tokens.rows} rows)`,
    );
  }
  if (measurement.tables.prompts.rows > measurement.prompts.count) {
    throw new InputError(`${quote(path)}: the prompts table has ${measurement.tables.prompts.rows} rows but prompts.count says ${measurement.prompts.count}`);
  }
  const { shard } = measurement;
  if (shard && shard.index > shard.count) throw new InputError(`${quote(path)}: shard ${shard.index}/${shard.count} does not exist`);
}

/** Shapes that the schema alone cannot express: every hook table is [nLayers][tokens]. */
function checkVersion1(measurement: MeasurementV1, path: string): void {
  const { nLayers } = measurement.model;
  const { shard } = measurement;
  const expected = shard ? shard.sequenceIndices.length : measurement.prompts.count;
  if (measurement.sequences.length !== expected) {
    throw new InputError(
      `${quote(path)} has ${measurement.sequences.length} sequences but ${shard ? `its shard lists ${expected}` : `prompts.count says ${expected}`}`,
    );
  }
  if (shard && (shard.index > shard.count || shard.sequenceIndices.some((index) => index >= measurement.prompts.count))) {
    throw new InputError(`${quote(path)}: shard ${shard.index}/${shard.count} does not fit a prompt set of ${measurement.prompts.count}`);
  }
  measurement.sequences.forEach((sequence, index) => {
    const where = `sequences[${index}]`;
    if (sequence.tokens.length !== 0 && sequence.tokens.length !== sequence.ids.length) {
      throw new InputError(`${quote(path)}: ${where} has ${sequence.tokens.length} tokens but ${sequence.ids.length} ids`);
    }
    for (const hook of measurement.hooks) {
      for (const [table, name] of [
        [sequence.norms, 'norms'],
        [sequence.rawNorms, 'rawNorms'],
      ] as const) {
        const rows = table[hook];
        if (rows === undefined) {
          throw new InputError(`${quote(path)}: ${where}.${name} has no "${hook}" although "hooks" lists it`);
        }
        if (rows.length !== nLayers) {
          throw new InputError(`${quote(path)}: ${where}.${name}.${hook} has ${rows.length} layers; the model has ${nLayers}`);
        }
        const badRow = rows.findIndex((row) => row.length !== sequence.ids.length);
        if (badRow >= 0) {
          throw new InputError(
            `${quote(path)}: ${where}.${name}.${hook}[${badRow}] has ${rows[badRow]!.length} positions; the sequence has ${sequence.ids.length} tokens`,
          );
        }
      }
    }
  });
}
