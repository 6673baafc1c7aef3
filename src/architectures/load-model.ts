/**
 * Open a model folder: config.json → architecture adapter → weight headers (safetensors, or
 * PyTorch checkpoints read without running them) → a TransformerSpec that says which tensor
 * plays which role. No tensor is read.
 */
import { join } from 'node:path';
import { specProblems } from './model-shape.js';
import { adapterFor } from './registry.js';
import type { ArchitectureAdapter, HfConfig, TransformerSpec } from './types.js';
import { ModelError, quote } from '../errors.js';
import { modelFolderInputs, type InputFile } from '../io/output-guard.js';
import { describeReadFailure, readRegularFile } from '../io/read-regular-file.js';
import { TOKENIZER_FILES } from '../models/tokenizer-files.js';
import { WEIGHT_ENTRY_FILES } from '../models/weight-formats.js';
import { readWeightIndex, type WeightIndex } from '../models/weight-index.js';
import { parseJson } from '../io/json-text.js';

export interface LoadedModel {
  dir: string;
  config: HfConfig;
  adapter: ArchitectureAdapter;
  weights: WeightIndex;
  spec: TransformerSpec;
}

export async function readConfig(dir: string): Promise<{ config: HfConfig; path: string }> {
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = (await readRegularFile(path)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelError(
        `${quote(dir)} has no config.json; a model folder needs config.json, its weights (model.safetensors or pytorch_model.bin) and tokenizer.json`,
      );
    }
    throw new ModelError(`cannot read ${quote(path)}: ${describeReadFailure(error)}; config.json must be a JSON file`);
  }
  let config: unknown;
  try {
    config = parseJson(text);
  } catch {
    throw new ModelError(`${quote(path)} is not valid JSON`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ModelError(`${quote(path)} is not a JSON object`);
  return { config: config as HfConfig, path };
}

/** Every file of a model folder, and every name the loader reads there, as inputs an output may not replace. */
export function modelInputs(dir: string): Promise<InputFile[]> {
  return modelFolderInputs(dir, ['config.json', ...TOKENIZER_FILES, ...WEIGHT_ENTRY_FILES]);
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const { config, path } = await readConfig(dir);
  const adapter = adapterFor(config, path);
  const shape = adapter.readShape(config, path); // validate the config before touching the weights
  const weights = await readWeightIndex(dir);
  const spec = adapter.describe(config, path, weights);
  // Flags were checked against the shape before the download: the description must keep it.
  const problems = specProblems(spec, shape);
  if (problems.length > 0) throw new Error(`the ${adapter.name} adapter's description of ${quote(dir)} is inconsistent: ${problems.join('; ')}`);
  return { dir, config, adapter, weights, spec };
}
