import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitWeightGrowth } from '../../src/analysis/weight-growth-fit.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { loadWeightsSubjects } from '../../src/figure-inputs/weights-inputs.js';
import { InputError } from '../../src/errors.js';
import type { PlotSubject } from '../../src/figures/figure-types.js';
import type { WeightFitEntry } from '../../src/results/fit-schema.js';
import type { WeightsFile } from '../../src/results/weights-schema.js';
import { fileOf } from '../support/measured.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { syntheticWeights } from '../support/synthetic-weights.js';

/** A results file of the synthetic weights' model (id, architecture and shape as syntheticWeights makes them). */
function measured(path: string, id = 'synthetic', nLayers = 6): PlotSubject {
  const measurement = syntheticMeasurement({ nLayers, sequences: 2, hooks: ['attn_out', 'mlp_out'] });
  measurement.model = { ...measurement.model, id, dModel: 16, nHeads: 4 };
  return { path, measurement: fileOf(measurement, path).measurement, fits: {} };
}

function weightsOf(id: string, nLayers = 6): WeightsFile {
  const weights = syntheticWeights({
    nLayers,
    values: { processed: { W_OV: (l) => 2 * 1.1 ** l, W_out: (l) => 3 * 1.05 ** l }, raw: { W_OV: (l) => 5 * 1.2 ** l } },
  });
  weights.model.id = id;
  return weights;
}

describe('pairing weights files with results files', () => {
  it('pairs by model id, the first of several results files of that model, and says what it left out', () => {
    const subjects = [measured('a.json'), measured('other.json', 'other'), measured('b.json')];
    const [paired, alone] = loadWeightsSubjects(
      [
        { path: 'w.json', weights: weightsOf('synthetic') },
        { path: 'x.json', weights: weightsOf('unmeasured') },
      ],
      subjects,
      { fit: true },
      createSilentReporter(),
    );
    assert.equal(paired!.measurement, subjects[0]);
    assert.equal(paired!.pairingNote, 'attn_out and mlp_out from a.json; the other results files of synthetic (b.json) are not drawn here');
    assert.equal(alone!.measurement, undefined);
    assert.equal(
      alone!.pairingNote,
      'no results file of unmeasured among the inputs (they hold synthetic, other; weights and results are paired by model id), so attn_out and mlp_out are not drawn',
    );
    const [only] = loadWeightsSubjects([{ path: 'w.json', weights: weightsOf('synthetic') }], [subjects[0]!], { fit: true }, createSilentReporter());
    assert.equal(only!.pairingNote, undefined);
    const [none] = loadWeightsSubjects([{ path: 'w.json', weights: weightsOf('synthetic') }], [], { fit: true }, createSilentReporter());
    assert.match(none!.pairingNote!, /^weights only: give a results file of synthetic/);
  });

  it('refuses, all at once, results files with the id of a weights file but another shape', () => {
    const subjects = [measured('a.json', 'synthetic', 7), measured('b.json', 'synthetic', 8), measured('c.json')];
    assert.throws(
      () => loadWeightsSubjects([{ path: 'w.json', weights: weightsOf('synthetic') }], subjects, { fit: true }, createSilentReporter()),
      (error: Error) => {
        assert.ok(error instanceof InputError);
        assert.doesNotMatch(error.message, /\n/);
        assert.match(
          error.message,
          /"w\.json" and "a\.json": the weights \(synthetic: nLayers 6\) and the measurement \(synthetic: nLayers 7\) are not of the same model/,
        );
        assert.match(error.message, /"w\.json" and "b\.json": .*nLayers 8/);
        assert.doesNotMatch(error.message, /c\.json/);
        return true;
      },
    );
  });

  it('fits every drawn series of the variant drawn, over all layers', () => {
    const weights = weightsOf('synthetic');
    const [subject] = loadWeightsSubjects([{ path: 'w.json', weights }], [], { fit: true }, createSilentReporter());
    assert.deepEqual(Object.keys(subject!.fits).sort(), ['W_OV', 'W_in', 'W_out', 'b_O', 'b_out']);
    assert.ok(Math.abs(subject!.fits.W_OV!.growth - 1.1) < 1e-12);
    assert.ok(Math.abs(subject!.fits.W_out!.growth - 1.05) < 1e-12);
    assert.deepEqual([subject!.fits.W_OV!.fromLayer, subject!.fits.W_OV!.toLayer], [0, 5]);
    const [raw] = loadWeightsSubjects([{ path: 'w.json', weights }], [], { fit: true, variant: 'raw' }, createSilentReporter());
    assert.equal(raw!.fits.W_OV!.variant, 'raw');
    assert.ok(Math.abs(raw!.fits.W_OV!.growth - 1.2) < 1e-12);
  });

  it('takes fits from a fit file (same source, else same model; same variant), and names the missing ones', () => {
    const weights = weightsOf('synthetic');
    const entry = (source: string, growth: number, variant: 'raw' | 'processed' = 'processed'): WeightFitEntry => ({
      source,
      ...fitWeightGrowth(weights, { series: 'W_OV', variant }),
      growth,
    });
    const entries = [entry('elsewhere.json', 1.3), entry('w.json', 1.4), entry('w.json', 1.5, 'raw')];
    const reporter = createSilentReporter();
    const [subject] = loadWeightsSubjects([{ path: 'w.json', weights }], [], { fit: true, fitEntries: entries }, reporter);
    assert.equal(subject!.fits.W_OV!.growth, 1.4);
    assert.deepEqual(Object.keys(subject!.fits), ['W_OV']);
    assert.ok(
      reporter.warnings.some((message) =>
        /the fit file has no processed fit of b_O, W_in, W_out, b_out for synthetic \(w\.json\); the weights figure shows no rate for them/.test(message),
      ),
      reporter.warnings.join('\n'),
    );
    const [other] = loadWeightsSubjects([{ path: 'copy.json', weights }], [], { fit: true, fitEntries: entries }, createSilentReporter());
    assert.equal(other!.fits.W_OV!.growth, 1.3, 'no fit of this path: the first of the same model');
    const quiet = createSilentReporter();
    const [unfitted] = loadWeightsSubjects([{ path: 'w.json', weights }], [], { fit: false, fitEntries: entries }, quiet);
    assert.deepEqual([unfitted!.fits, quiet.warnings], [{}, []], 'no fits, and no warning about them, when the figure is not drawn');
  });
});
