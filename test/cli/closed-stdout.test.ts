/** `resid-norms … | head`: a reader that closes stdout early ends the output quietly, without a stack trace. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

const CLI = fileURLToPath(new URL('../../../bin/resid-norms.js', import.meta.url));

describe('a closed stdout', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-epipe-'));
    await writeFile(join(dir, 'r.json'), JSON.stringify(syntheticMeasurement({ nLayers: 12, sequences: 4 })));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('ends fit with exit code 0 and nothing on stderr', async () => {
    const child = spawn(process.execPath, [CLI, 'fit', join(dir, 'r.json'), '--bootstrap', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the table is written
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
