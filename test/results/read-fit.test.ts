import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fitV1 } from '../support/measured.js';
import { InputError } from '../../src/errors.js';
import { FIT_FORMAT, FIT_VERSION, type FitFile } from '../../src/results/fit-schema.js';
import { parseFit, readFit } from '../../src/results/read-fit.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

function document(): FitFile {
  const fit = fitV1(syntheticMeasurement({ nLayers: 10, sequences: 4 }), { hook: 'resid_post', bootstrap: 50 });
  return { format: FIT_FORMAT, version: FIT_VERSION, createdBy: { tool: 'resid-norms', version: '0.0.0' }, fits: [{ source: 'r.json', ...fit }] };
}

function expectInputError(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseFit(text, 'fit.json'),
    (error: unknown) => {
      assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('\n'));
      return true;
    },
  );
}

describe('readFit', () => {
  it('reads back what a fit wrote', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'resid-norms-read-fit-'));
    try {
      const original = document();
      await writeFile(join(folder, 'fit.json'), JSON.stringify(original));
      assert.deepEqual(await readFit(join(folder, 'fit.json')), original);
      await assert.rejects(readFit(join(folder, 'missing.json')), /cannot read fit file .*no such file/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('refuses text that is not JSON', () => expectInputError('{', /not JSON/));

  it('refuses a results file (another format) and names the expected one', () =>
    expectInputError(JSON.stringify(syntheticMeasurement({ nLayers: 3 })), /format "resid-norms\/measurement"; expected format "resid-norms\/fit"/));

  it('refuses an unknown version', () => expectInputError(JSON.stringify({ ...document(), version: 2 }), /fit version 2.*supported: 1/));

  it('names the path of the first schema problem', () => {
    const data = document();
    (data.fits[0]!.phases[0] as { growth: unknown }).growth = -1;
    expectInputError(JSON.stringify(data), /fits\[0\]\.phases\[0\]\.growth/);
  });
});
