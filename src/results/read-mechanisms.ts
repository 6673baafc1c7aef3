/**
 * Read and validate a mechanisms file written by `resid-norms mechanisms`: not JSON, not a
 * mechanisms file, unknown version, the first schema violation, then shapes the schema cannot
 * express (one entry per layer, in order; source layers that exist).
 */
import { InputError, quote } from '../errors.js';
import { describeFormat, readJsonDocument, validateDocument, type DocumentKind } from './read-json.js';
import {
  MECHANISMS_FORMAT,
  MECHANISMS_VERSION,
  MechanismsFileSchema,
  MechanismsFileV1Schema,
  upgradeMechanismsV1,
  type MechanismsFile,
  type MechanismsFileV1,
} from './mechanisms-schema.js';

const SUPPORTED = '1, 2';

const MECHANISMS_KIND: DocumentKind<MechanismsFile> = {
  label: 'mechanisms',
  producer: '`resid-norms mechanisms`',
  format: MECHANISMS_FORMAT,
  version: MECHANISMS_VERSION,
  supported: SUPPORTED,
  schema: MechanismsFileSchema,
  check: (file, path) => checkShapes(file, path),
};

/** Version 1 (before the errors took the prompts as the unit): read and converted. */
const MECHANISMS_V1_KIND: DocumentKind<MechanismsFileV1> = {
  ...MECHANISMS_KIND,
  version: 1,
  schema: MechanismsFileV1Schema,
  check: (file, path) => checkShapes(file, path),
};

export async function readMechanismsFile(path: string): Promise<MechanismsFile> {
  return validateMechanismsFile(await readJsonDocument(path, 'mechanisms file', MECHANISMS_KIND.producer), path);
}

export function validateMechanismsFile(data: unknown, path: string): MechanismsFile {
  const version = typeof data === 'object' && data !== null ? (data as { version?: unknown }).version : undefined;
  if (version === 1 && describeFormat(data).format === MECHANISMS_FORMAT) return upgradeMechanismsV1(validateDocument(data, path, MECHANISMS_V1_KIND));
  return validateDocument(data, path, MECHANISMS_KIND);
}

function checkShapes(
  file: Pick<MechanismsFile, 'model'> & { layers: ReadonlyArray<{ layer: number; randomLayer: { sourceLayer: number } }> },
  path: string,
): void {
  const { nLayers } = file.model;
  if (file.layers.length !== nLayers) throw new InputError(`${quote(path)}: "layers" has ${file.layers.length} entries; the model has ${nLayers} layers`);
  file.layers.forEach((entry, index) => {
    if (entry.layer !== index) throw new InputError(`${quote(path)}: layers[${index}] is layer ${entry.layer}; expected ${index}`);
    if (entry.randomLayer.sourceLayer >= nLayers) {
      throw new InputError(
        `${quote(path)}: layers[${index}].randomLayer.sourceLayer is ${entry.randomLayer.sourceLayer}; the model has layers 0–${nLayers - 1}`,
      );
    }
  });
}
