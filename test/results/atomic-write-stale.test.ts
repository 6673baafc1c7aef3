import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeFileAtomic } from '../../src/results/atomic-write.js';
import { parseMeasurement } from '../../src/results/read-measurement.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

describe('writeFileAtomic after a kill -9', () => {
  let dir = '';
  after(() => rm(dir, { recursive: true, force: true }));

  it("removes this host's temp files of dead writers of the same target, keeps live ones, other hosts' and other files", async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-atomic-'));
    const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout; // a pid that has exited
    const stale = `.r.json.${host}-${dead}.0123abcd.tmp`;
    const live = `.r.json.${host}-${process.pid}.89abcdef.tmp`;
    // The same dead pid on another node of a shared file system: its process may well be alive there.
    const otherHost = `.r.json.${host === '00000000' ? '11111111' : '00000000'}-${dead}.0123abcd.partial`;
    for (const name of [stale, live, otherHost, '.other.json.1.0123abcd.tmp', 'r.json.notes']) await writeFile(join(dir, name), '');
    await writeFileAtomic(join(dir, 'r.json'), '{}\n');
    assert.deepEqual((await readdir(dir)).sort(), [live, otherHost, '.other.json.1.0123abcd.tmp', 'r.json', 'r.json.notes'].sort());
  });
});

describe('results files that claim sizes nothing reads', () => {
  it('refuses a model of a billion layers before anything is allocated for them', () => {
    const data = { ...syntheticMeasurement({ nLayers: 2, sequences: 1 }) };
    data.model = { ...data.model, nLayers: 1e9 };
    assert.throws(() => parseMeasurement(JSON.stringify(data), 'r.json'), /model\.nLayers/);
  });

  it('refuses a shard count beyond the 10,000 that --shard allows', () => {
    const data = { ...syntheticMeasurement({ nLayers: 2, sequences: 1 }), shard: { index: 1, count: 1e9, sequenceIndices: [0] } };
    assert.throws(() => parseMeasurement(JSON.stringify(data), 'r.json'), /shard/);
  });
});
