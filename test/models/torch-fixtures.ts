/** The genuine torch.save fixtures of scripts/make-torch-fixtures.py and what they hold. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../../test/models/torch-fixtures', import.meta.url));

export interface ExpectedTensor {
  dtype: 'F32' | 'F16' | 'BF16' | 'I64';
  shape: number[];
  values: number[];
}

/** expected.json's tensors of the fixtures of one dtype, by name. */
export async function fixtureTensors(dtype: 'F32' | 'F16' | 'BF16'): Promise<Record<string, ExpectedTensor>> {
  const expected = JSON.parse(await readFile(`${FIXTURES}/expected.json`, 'utf8')) as { tensors: Record<string, Record<string, ExpectedTensor>> };
  return expected.tensors[dtype]!;
}
