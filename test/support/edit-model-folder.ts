/** Edits of a generated model folder, to test how adapters refuse bad models. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { writeSafetensors } from './safetensors-writer.js';

/** Merge `changes` into config.json; a value of undefined deletes the key. */
export async function editConfig(dir: string, changes: Record<string, unknown>): Promise<void> {
  const path = join(dir, 'config.json');
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  await writeFile(path, JSON.stringify(config, null, 2));
}

/** Rewrite model.safetensors (F32 tensors only) without the named tensors. */
export async function dropTensors(dir: string, names: readonly string[]): Promise<void> {
  const index = await readWeightIndex(dir);
  const kept = [];
  for (const info of index.tensors.values()) {
    if (names.includes(info.name)) continue;
    kept.push({ name: info.name, shape: info.shape, data: await readTensorValues(info) });
  }
  await writeSafetensors(join(dir, 'model.safetensors'), kept);
}
