/**
 * Read and validate a weights file written by `resid-norms weights`, in the order a person
 * wants to hear about problems: not JSON, not a weights file, unknown version, the first
 * schema violation (with its JSON path), then shapes the schema cannot express.
 */
import { InputError, quote } from '../errors.js';
import { readDocument, validateDocument, type DocumentKind } from './read-json.js';
import { WEIGHTS_FORMAT, WEIGHTS_VERSION, WeightsFileSchema, type WeightsFile } from './weights-schema.js';

const WEIGHTS_KIND: DocumentKind<WeightsFile> = {
  label: 'weights',
  producer: '`resid-norms weights`',
  format: WEIGHTS_FORMAT,
  version: WEIGHTS_VERSION,
  schema: WeightsFileSchema,
  check: (file, path) => checkShapes(file, path),
};

export function readWeightsFile(path: string): Promise<WeightsFile> {
  return readDocument(path, WEIGHTS_KIND);
}

/** Validate parsed JSON as a weights file. */
export function validateWeightsFile(data: unknown, path: string): WeightsFile {
  return validateDocument(data, path, WEIGHTS_KIND);
}

/** One entry per layer, in order, with one value per head (query heads, or key/value heads for W_K and W_V). */
function checkShapes(file: WeightsFile, path: string): void {
  const { nLayers, nHeads, nKvHeads } = file.model;
  if (file.layers.length !== nLayers) throw new InputError(`${quote(path)}: "layers" has ${file.layers.length} entries; the model has ${nLayers} layers`);
  file.layers.forEach((entry, index) => {
    if (entry.layer !== index) throw new InputError(`${quote(path)}: layers[${index}] is layer ${entry.layer}; expected ${index}`);
    for (const variant of ['raw', 'processed'] as const) {
      for (const [name, values] of Object.entries(entry.heads[variant])) {
        const expected = name === 'W_K' || name === 'W_V' ? nKvHeads : nHeads;
        if (values.length !== expected) {
          throw new InputError(`${quote(path)}: layers[${index}].heads.${variant}.${name} has ${values.length} values; expected ${expected} (one per head)`);
        }
      }
    }
  });
}
