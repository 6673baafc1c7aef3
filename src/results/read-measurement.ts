/**
 * Read and validate a results file written by `measure`. Checks in the order a person would
 * want to hear about problems: not JSON, not a results file, unknown version, then the first
 * schema violation (with its JSON path), then cross-field consistency.
 */
import { InputError, quote } from '../errors.js';
import { parseJsonText, readDocument, validateDocument, type DocumentKind } from './read-json.js';
import { MEASUREMENT_FORMAT, MEASUREMENT_VERSION, MeasurementSchema, type Measurement } from './schema.js';

const PRODUCER = '`resid-norms measure`';

export const MEASUREMENT_KIND: DocumentKind<Measurement> = {
  label: 'results',
  producer: PRODUCER,
  format: MEASUREMENT_FORMAT,
  version: MEASUREMENT_VERSION,
  schema: MeasurementSchema,
  check: (measurement, path) => checkConsistency(measurement, path),
};

export function readMeasurement(path: string): Promise<Measurement> {
  return readDocument(path, MEASUREMENT_KIND);
}

export function parseMeasurement(text: string, path: string): Measurement {
  return validateMeasurement(parseJsonText(text, path, 'results file', PRODUCER), path);
}

/** Validate parsed JSON as a results file of `measure`. */
export function validateMeasurement(data: unknown, path: string): Measurement {
  return validateDocument(data, path, MEASUREMENT_KIND);
}

/** Shapes that the schema alone cannot express: every hook table is [nLayers][tokens]. */
function checkConsistency(measurement: Measurement, path: string): void {
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
