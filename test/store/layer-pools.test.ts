import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildLayerPool } from '../../src/analysis/layer-statistic.js';
import { loadLayerPools, sortWithOwners } from '../../src/store/layer-pools.js';
import { mergeShards } from '../../src/commands/merge.js';
import { readMeasurementFile } from '../../src/store/open-results.js';
import { fileOf, readMeasured } from '../support/measured.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { createRandom } from '../support/random.js';

describe('loadLayerPools', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-pools-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads from the tables what the analysis builds from inline sequences (mean and median, both metrics)', async () => {
    // A version-1 file rewritten as tables by merge (one shard of one), then read back through DuckDB.
    const v1 = syntheticMeasurement({ nLayers: 5, sequences: 7, tokensPerSequence: 9, seed: 11 });
    const shard = { ...v1, shard: { index: 1, count: 1, sequenceIndices: v1.sequences.map((_, i) => i) } };
    await writeFile(join(dir, 'shard.json'), JSON.stringify(shard));
    await mergeShards([join(dir, 'shard.json')], join(dir, 'tables.json'));
    const file = await readMeasurementFile(join(dir, 'tables.json'));
    const inline = await fileOf(shard).tokens();
    // Values are float32 in the tables: compare with the sequences read back from them.
    const sequences = (await readMeasured(join(dir, 'tables.json'))).sequences;
    for (const metric of ['centered', 'raw'] as const) {
      for (const stat of ['mean', 'median'] as const) {
        const pools = await loadLayerPools(await file.tokens(), 'resid_mid', metric, [1, 2, 4], stat);
        pools.forEach((pool, k) => {
          const expected = buildLayerPool(sequences, 'resid_mid', metric, [1, 2, 4][k]!, [0]);
          assert.deepEqual([...pool.counts], [...expected.counts]);
          pool.sums.forEach((sum, s) => assert.ok(Math.abs(sum - expected.sums[s]!) <= 1e-12 * Math.abs(expected.sums[s]!), `sum of sequence ${s}`));
          if (stat === 'median') {
            assert.deepEqual([...pool.sortedValues], [...expected.sortedValues]);
            assert.deepEqual([...pool.sortedSequence], [...expected.sortedSequence]);
          }
        });
      }
    }
    // The version-1 source agrees with its own sequences too (float64 values, the slow sort).
    const pools = await loadLayerPools(inline, 'resid_pre', 'centered', [3], 'median');
    assert.deepEqual([...pools[0]!.sortedValues], [...buildLayerPool(shard.sequences, 'resid_pre', 'centered', 3, [0]).sortedValues]);
  });
});

describe('sortWithOwners', () => {
  it('sorts float32 values with their owners like a comparator sort does, ties by owner', () => {
    const random = createRandom(4);
    const values = Float64Array.from({ length: 5000 }, (_, i) => (i % 50 === 0 ? 1.5 : Math.fround(random.uniform() * 100)));
    const owners = Int32Array.from({ length: 5000 }, () => random.integer(1000));
    const [sorted, sortedOwners] = sortWithOwners(values, owners, 1000);
    const order = Array.from({ length: 5000 }, (_, i) => i).sort((a, b) => values[a]! - values[b]! || owners[a]! - owners[b]!);
    assert.deepEqual(
      [...sorted],
      order.map((i) => values[i]!),
    );
    assert.deepEqual(
      [...sortedOwners],
      order.map((i) => owners[i]!),
    );
  });
});
