/**
 * Read and validate a mechanisms file written by `resid-norms mechanisms`: not JSON, not a
 * mechanisms file, unknown version, the first schema violation, then shapes the schema cannot
 * express (one entry per layer, in order; source layers that exist).
 */
import { InputError, quote } from '../errors.js';
import { readDocument, validateDocument, type DocumentKind } from './read-json.js';
import { MECHANISMS_FORMAT, MECHANISMS_VERSION, MechanismsFileSchema, type MechanismsFile } from './mechanisms-schema.js';

const MECHANISMS_KIND: DocumentKind<MechanismsFile> = {
  label: 'mechanisms',
  producer: '`resid-norms mechanisms`',
  format: MECHANISMS_FORMAT,
  version: MECHANISMS_VERSION,
  schema: MechanismsFileSchema,
  check: (file, path) => checkShapes(file, path),
};

export function readMechanismsFile(path: string): Promise<MechanismsFile> {
  return readDocument(path, MECHANISMS_KIND);
}

export function validateMechanismsFile(data: unknown, path: string): MechanismsFile {
  return validateDocument(data, path, MECHANISMS_KIND);
}

function checkShapes(file: MechanismsFile, path: string): void {
  const { nLayers } = file.model;
  if (file.layers.length !== nLayers) throw new InputError(`${quote(path)}: "layers" has ${file.layers.length} entries; the model has ${nLayers} layers`);
  file.layers.forEach((entry, index) => {
    if (entry.layer !== index) throw new InputError(`${quote(path)}: layers[${index}] is layer ${entry.layer}; expected ${index}`);
    if (entry.randomLayer.sourceLayer >= nLayers) {
      throw new InputError(`${quote(path)}: layers[${index}].randomLayer.sourceLayer is ${entry.randomLayer.sourceLayer}; the model has layers 0–${nLayers - 1}`);
    }
  });
}
