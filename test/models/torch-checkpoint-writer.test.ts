/**
 * The test support's torch-checkpoint writer against genuine torch.save files (torch 1.13,
 * scripts/make-torch-fixtures.py): the same state dict must give the same bytes, so the
 * generated .bin models of the other tests are what torch writes.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { unpickle } from '../../src/models/torch/restricted-unpickler.js';
import { torchPickleHooks } from '../../src/models/torch/torch-pickle.js';
import { encodeTorchCheckpoint, type StorageDtype, type TorchStorage, type TorchTensor } from '../support/torch-checkpoint-writer.js';
import { FIXTURES, fixtureTensors } from './torch-fixtures.js';

/** The fixtures' state dict (scripts/make-torch-fixtures.py's `state_dict`), rebuilt from expected.json's values. */
async function fixtureStateDict(dtype: 'F32' | 'F16' | 'BF16'): Promise<{ tensors: TorchTensor[]; storages: TorchStorage[] }> {
  const expected = await fixtureTensors(dtype);
  const storage = (name: string, as: StorageDtype = dtype): TorchStorage => ({ dtype: as, values: expected[name]!.values });
  const weight = storage('emb.weight');
  const storages = [storage('position_ids', 'I64'), weight, storage('norm.weight'), storage('norm.bias'), storage('scalar')];
  const [positions, , normWeight, normBias, scalar] = storages as [TorchStorage, TorchStorage, TorchStorage, TorchStorage, TorchStorage];
  const tensors: TorchTensor[] = [
    { name: 'position_ids', storage: positions, shape: [1, 4] },
    { name: 'emb.weight', storage: weight, shape: [5, 3] },
    { name: 'norm.weight', storage: normWeight, shape: [3] },
    { name: 'norm.bias', storage: normBias, shape: [3] },
    { name: 'head.weight', storage: weight, shape: [5, 3] },
    { name: 'row', storage: weight, offset: 6, shape: [3] },
    { name: 'transposed', storage: weight, shape: [3, 5], strides: [1, 3] },
    { name: 'scalar', storage: scalar, shape: [] },
  ];
  return { tensors, storages };
}

const MODULES: Array<[string, number]> = [
  ['', 1],
  ['emb', 1],
  ['norm', 1],
  ['head', 1],
];

/** The storage keys of a legacy file in the order its pickle first uses them (torch names them by pointer values). */
function legacyKeys(bytes: Buffer): string[] {
  const keys: string[] = [];
  let at = 0;
  for (let i = 0; i < 3; i += 1)
    at = unpickle(
      bytes,
      torchPickleHooks(() => null),
      at,
    ).end;
  unpickle(
    bytes,
    torchPickleHooks((pid) => {
      if (!keys.includes(pid.key)) keys.push(pid.key);
      return {
        kind: 'object',
        type: 'storage',
        key: pid.key,
        className: pid.className,
        dtype: pid.dtype,
        elementBytes: pid.elementBytes,
        numel: pid.numel,
        location: pid.location,
      };
    }),
    at,
  );
  return keys;
}

describe('the torch-checkpoint writer of the tests', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`writes the zip format byte for byte as torch.save does (${dtype})`, async () => {
      const genuine = await readFile(`${FIXTURES}/zip-${dtype.toLowerCase()}.bin`);
      const { tensors } = await fixtureStateDict(dtype);
      const written = encodeTorchCheckpoint(tensors, { prefix: `zip-${dtype.toLowerCase()}`, moduleVersions: MODULES });
      assert.equal(written.length, genuine.length);
      assert.ok(written.equals(genuine), 'the bytes differ from torch.save');
    });

    it(`writes the legacy format byte for byte as torch.save does (${dtype})`, async () => {
      const genuine = await readFile(`${FIXTURES}/legacy-${dtype.toLowerCase()}.bin`);
      const { tensors, storages } = await fixtureStateDict(dtype);
      const keys = legacyKeys(genuine);
      const written = encodeTorchCheckpoint(tensors, {
        format: 'legacy',
        moduleVersions: MODULES,
        legacyKeys: new Map(storages.map((storage, i) => [storage, keys[i]!])),
      });
      assert.ok(written.equals(genuine), 'the bytes differ from torch.save');
    });
  }

  it('names the records after the prefix it is given, as torch.save to a buffer names them archive/', async () => {
    const genuine = await readFile(`${FIXTURES}/zip-archive-prefix.bin`);
    const { tensors } = await fixtureStateDict('F32');
    assert.ok(encodeTorchCheckpoint(tensors, { moduleVersions: MODULES }).equals(genuine));
  });
});
