/**
 * Read and validate a results file written by `measure`. Checks in the order a person would
 * want to hear about problems: not JSON, not a results file, unknown version, then the first
 * schema violation (with its JSON path), then cross-field consistency.
 */
import { readFile } from 'node:fs/promises';
import { InputError, quote } from '../errors.js';
import {
  MEASUREMENT_FORMAT,
  MEASUREMENT_VERSION,
  MeasurementSchema,
  type Measurement,
} from './schema.js';
import { describeFirstIssue } from './schema-issues.js';

export async function readMeasurement(path: string): Promise<Measurement> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? 'unreadable');
    throw new InputError(`cannot read results file ${quote(path)}: ${why}; give a JSON file written by \`resid-norms measure\``);
  }
  return parseMeasurement(text, path);
}

export function parseMeasurement(text: string, path: string): Measurement {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InputError(`${quote(path)} is not JSON; give a results file written by \`resid-norms measure\``);
  }
  return validateMeasurement(data, path);
}

/** Validate parsed JSON as a results file of `measure`. */
export function validateMeasurement(data: unknown, path: string): Measurement {
  checkFormatAndVersion(data, path);
  const parsed = MeasurementSchema.safeParse(data);
  if (!parsed.success) {
    throw new InputError(`${quote(path)} is not a valid results file: ${describeFirstIssue(parsed.error)}`);
  }
  checkConsistency(parsed.data, path);
  return parsed.data;
}

function checkFormatAndVersion(data: unknown, path: string): void {
  const record = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  if (record.format !== MEASUREMENT_FORMAT) {
    const found = record.format === undefined ? 'no "format" field' : `format ${quote(record.format)}`;
    throw new InputError(
      `${quote(path)} is not a resid-norms results file (${found}; expected format "${MEASUREMENT_FORMAT}")`,
    );
  }
  if (record.version !== MEASUREMENT_VERSION) {
    throw new InputError(
      `${quote(path)} has results version ${quote(record.version)}, which this resid-norms does not know; supported: ${MEASUREMENT_VERSION}`,
    );
  }
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
