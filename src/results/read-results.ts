/**
 * Read a file that `fit` accepts: a results file of `measure` or a weights file of `weights`,
 * told apart by its `format` field and validated by that format's reader.
 */
import { InputError, quote } from '../errors.js';
import { describeFormat, readJsonDocument } from './read-json.js';
import { validateMeasurement } from './read-measurement.js';
import { validateWeightsFile } from './read-weights.js';
import { MEASUREMENT_FORMAT, type Measurement } from './schema.js';
import { WEIGHTS_FORMAT, type WeightsFile } from './weights-schema.js';

export type ResultsDocument = { kind: 'measurement'; measurement: Measurement } | { kind: 'weights'; weights: WeightsFile };

export async function readResultsDocument(path: string): Promise<ResultsDocument> {
  const data = await readJsonDocument(path, 'results file', '`resid-norms measure` or `resid-norms weights`');
  const { format, found } = describeFormat(data);
  if (format === WEIGHTS_FORMAT) return { kind: 'weights', weights: validateWeightsFile(data, path) };
  if (format === MEASUREMENT_FORMAT) return { kind: 'measurement', measurement: validateMeasurement(data, path) };
  throw new InputError(`${quote(path)} is not a resid-norms results file (${found}; expected format "${MEASUREMENT_FORMAT}" or "${WEIGHTS_FORMAT}")`);
}
