import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { parseMeasurement } from '../../src/results/read-measurement.js';
import type { MeasurementV1 } from '../../src/results/schema.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

function expectInputError(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseMeasurement(text, 'r.json'),
    (error: unknown) => {
      assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('\n'), 'message must be one line');
      return true;
    },
  );
}

describe('parseMeasurement', () => {
  it('accepts a valid results file and keeps its numbers', () => {
    const measurement = syntheticMeasurement({ nLayers: 4, sequences: 2, tokensPerSequence: 5 });
    const parsed = parseMeasurement(JSON.stringify(measurement), 'r.json') as MeasurementV1;
    assert.deepEqual(parsed.sequences[1]!.norms.resid_pre, measurement.sequences[1]!.norms.resid_pre);
    assert.equal(parsed.summary.resid_post!.length, 4);
  });

  it('refuses text that is not JSON', () => expectInputError('{oops', /not JSON/));

  it('refuses JSON that is not a results file', () => expectInputError('{"a": 1}', /not a resid-norms results file.*no "format"/));

  it('refuses an unknown version and names the supported one', () => {
    const data = { ...syntheticMeasurement({ nLayers: 2 }), version: 99 };
    expectInputError(JSON.stringify(data), /version 99.*supported: 2 \(and 1\)/);
  });

  it('names the path of the first schema problem', () => {
    const data = syntheticMeasurement({ nLayers: 3, sequences: 2 });
    (data.sequences[1]!.norms.resid_pre![2] as unknown[])[1] = 'x';
    expectInputError(JSON.stringify(data), /sequences\[1\]\.norms\.resid_pre\[2\]\[1\]/);
  });

  it('refuses a negative norm', () => {
    const data = syntheticMeasurement({ nLayers: 3, sequences: 1 });
    data.sequences[0]!.rawNorms.mlp_out![0]![2] = -1;
    expectInputError(JSON.stringify(data), /rawNorms\.mlp_out\[0\]\[2\]/);
  });

  it('refuses a table whose layer count differs from the model', () => {
    const data = syntheticMeasurement({ nLayers: 3, sequences: 1 });
    data.sequences[0]!.norms.resid_post!.pop();
    expectInputError(JSON.stringify(data), /resid_post has 2 layers; the model has 3/);
  });

  it('refuses a hook listed in "hooks" but missing from a sequence', () => {
    const data = syntheticMeasurement({ nLayers: 3, sequences: 1 });
    delete data.sequences[0]!.norms.attn_out;
    expectInputError(JSON.stringify(data), /no "attn_out"/);
  });
});
